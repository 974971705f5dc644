using System.Diagnostics;
using System.Text;

namespace UserApiOperator.EndToEnd;

/// <summary>The outcome of a finished program.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Output">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record Result(int ExitCode, string Output, string Error)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Transcript => $"exit code {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>Runs programs to completion with a time limit, and finds repository files.</summary>
public static class Shell
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no UserApiOperator.sln above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository root.</summary>
    public static string Root => RootPath.Value;

    /// <summary>Start info with both streams redirected and no MSBuild variables of the dotnet test that runs us.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return info;
    }

    /// <summary>Runs a program, with <paramref name="stdin"/> (or nothing) on its standard input; kills it when <paramref name="timeout"/> runs out (and throws).</summary>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null, string? stdin = null)
    {
        var info = StartInfo(file, args, env);
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} ran longer than {timeout.TotalSeconds} s");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Polls <paramref name="condition"/> every second (each poll runs kubectl: the machine has 2 cores) until true; throws with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return watch.Elapsed;
            if (watch.Elapsed > timeout) throw new TimeoutException($"not within {timeout.TotalSeconds} s: {what()}");
            await Task.Delay(1000);
        }
    }

    /// <summary>True when this process runs as root.</summary>
    public static bool IsRoot => Environment.UserName == "root" || File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t", StringComparison.Ordinal);

    /// <summary>The text, shortened for messages.</summary>
    public static string Tail(string text, int lines = 40)
    {
        var all = text.Split('\n');
        return new StringBuilder().AppendJoin('\n', all.Skip(Math.Max(0, all.Length - lines))).ToString();
    }
}
