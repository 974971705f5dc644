using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace UserApiOperator.Deploy.Tests;

/// <summary>The outcome of a finished child process.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="Output">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public string Transcript => $"exit code {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

/// <summary>Runs child processes with captured output and a time limit.</summary>
public static class ProcessRunner
{
    /// <summary>
    /// Environment for child <c>dotnet</c> commands: no MSBuild settings inherited from the
    /// <c>dotnet test</c> that runs these tests, and no build servers or reused MSBuild nodes that
    /// would outlive the command (and keep its output pipes open).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> DotnetEnvironment = new Dictionary<string, string?>
    {
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
    };

    /// <summary>Builds the start info of <paramref name="fileName"/> with <paramref name="arguments"/>.</summary>
    /// <param name="fileName">Program, looked up on PATH.</param>
    /// <param name="arguments">Arguments, passed as they are (no shell).</param>
    /// <param name="workingDirectory">Working directory.</param>
    /// <param name="environment">Variables to set (a null value removes the variable).</param>
    /// <returns>The start info, with both output streams redirected.</returns>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // What `dotnet test` exports for its own MSBuild must not steer a child build.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return info;
    }

    /// <summary>Runs a program to the end and captures its output.</summary>
    /// <param name="info">What to run (from <see cref="StartInfo"/>).</param>
    /// <param name="timeout">Time limit; the process tree is killed when it runs out.</param>
    /// <returns>The exit code and output.</returns>
    /// <exception cref="InvalidOperationException">The program is missing or ran out of time.</exception>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        using var process = Start(info, out var output, out var error);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Describe(info)} did not finish within {timeout.TotalSeconds} s\n--- stdout ---\n{output}\n--- stderr ---\n{error}");
        }

        return new ProcessResult(process.ExitCode, output.ToString(), error.ToString());
    }

    /// <summary>Starts a program whose output is collected while it runs.</summary>
    /// <param name="info">What to run.</param>
    /// <param name="output">Collects standard output, line by line.</param>
    /// <param name="error">Collects standard error, line by line.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="InvalidOperationException">The program is not installed.</exception>
    public static Process Start(ProcessStartInfo info, out StringBuilder output, out StringBuilder error)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"cannot run \"{info.FileName}\": {e.Message}. Is it installed and on PATH?", e);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = stdout;
        error = stderr;
        return process;
    }

    /// <summary>The command line, for messages.</summary>
    /// <param name="info">The start info.</param>
    /// <returns><c>program arg1 arg2 ...</c>.</returns>
    public static string Describe(ProcessStartInfo info) => string.Join(' ', info.ArgumentList.Prepend(info.FileName));
}
