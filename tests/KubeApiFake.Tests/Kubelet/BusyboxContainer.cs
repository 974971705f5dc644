using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// A real runc container for tests: a root filesystem of the static busybox (read-only), the
/// process <c>sleep 100000</c> with <c>FOO=bar</c> in its environment and hostname <c>box</c>,
/// run detached under its own runc root (so it never meets another runc state), and removed
/// (<c>runc delete --force</c>) on dispose. Needs root; runc and busybox-static (Debian's packages)
/// are installed when missing, as the repository's scripts do on a fresh machine.
/// </summary>
internal sealed class BusyboxContainer : IAsyncDisposable
{
    private static readonly SemaphoreSlim Install = new(1, 1);

    private BusyboxContainer(string directory, string id)
    {
        Directory = directory;
        Id = id;
    }

    public string Directory { get; }

    public string Id { get; }

    /// <summary>runc's <c>--root</c> for this container.</summary>
    public string RuncRoot => Path.Combine(Directory, "runc");

    public static async Task<BusyboxContainer> StartAsync()
    {
        Assert.True(IsRoot(), "runc containers need root");
        await EnsureInstalledAsync();
        var directory = System.IO.Directory.CreateTempSubdirectory("busybox-container-").FullName;
        var container = new BusyboxContainer(directory, "busybox-" + Guid.NewGuid().ToString("N")[..12]);
        var rootfs = Path.Combine(directory, "rootfs");
        foreach (var dir in new[] { "bin", "proc", "dev", "sys", "tmp" }) System.IO.Directory.CreateDirectory(Path.Combine(rootfs, dir));
        File.Copy(BusyboxPath(), Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in new[] { "sh", "cat", "echo", "tty", "stty", "sleep", "tr", "id", "hostname", "ps" })
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        await RunAsync(directory, "runc", "spec");
        var configPath = Path.Combine(directory, "config.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(configPath))!.AsObject();
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray("sleep", "100000");
        config["process"]!["env"] = new JsonArray("PATH=/bin", "FOO=bar");
        config["root"]!["readonly"] = true;
        config["hostname"] = "box";
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        // The detached container keeps runc's standard streams: /dev/null, not this process's pipes.
        await RunAsync(directory, "sh", "-c", "runc --root \"$0\" run --detach \"$1\" </dev/null >/dev/null 2>run.err || { cat run.err >&2; exit 1; }",
            container.RuncRoot, container.Id);
        return container;
    }

    /// <summary>The commands runc reports running in the container (<c>runc ps</c>).</summary>
    public async Task<string> ProcessesAsync() => await RunAsync(Directory, "runc", "--root", RuncRoot, "ps", Id);

    public async ValueTask DisposeAsync()
    {
        await RunAsync(Directory, "runc", "--root", RuncRoot, "delete", "--force", Id);
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static string BusyboxPath() => File.Exists("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";

    private static async Task EnsureInstalledAsync()
    {
        await Install.WaitAsync();
        try
        {
            var missing = new List<string>();
            if (!new[] { "/usr/sbin/runc", "/usr/bin/runc" }.Any(File.Exists)) missing.Add("runc");
            if (!new[] { "/bin/busybox", "/usr/bin/busybox" }.Any(File.Exists)) missing.Add("busybox-static");
            if (missing.Count == 0) return;
            await RunAsync("/", "apt-get", "update", "-qq");
            await RunAsync("/", ["apt-get", "install", "-y", "-qq", "--no-install-recommends", .. missing]);
        }
        finally
        {
            Install.Release();
        }
    }

    private static bool IsRoot() => File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");

    private static Task<string> RunAsync(string directory, params string[] command) => RunAsync(directory, (IEnumerable<string>)command);

    private static async Task<string> RunAsync(string directory, IEnumerable<string> command)
    {
        var args = command.ToList();
        var start = new ProcessStartInfo(args[0])
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DEBIAN_FRONTEND"] = "noninteractive" },
        };
        foreach (var a in args.Skip(1)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        return await stdout;
    }
}
