using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LocalCluster.Kubelet;

/// <summary>Signals and programs of the host: kill(2) and running ip(8), nginx(8) to completion.</summary>
internal static partial class Host
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGHUP = 1;

    // DllImport rather than LibraryImport: the source-generated form needs unsafe code in the project.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillSyscall(int pid, int sig);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>True when this process runs as root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN).</summary>
    public static bool IsRoot => GetEuid() == 0;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it is gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && KillSyscall(pid, signal) == 0;

    /// <summary>Runs a program to completion; returns its exit code and combined output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        return (p.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>Runs <c>ip ARGS</c>; throws with its output when it fails.</summary>
    public static async Task IpAsync(params string[] args)
    {
        var (code, output) = await RunAsync("ip", args);
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output.Trim()}");
    }
}

/// <summary>Lookups in the models' label and annotation maps (IDictionary, which has no GetValueOrDefault).</summary>
internal static class MapExtensions
{
    public static string? Value(this IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var v) ? v : null;
}
