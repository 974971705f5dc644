using System.Diagnostics;
using System.Text;

namespace KubeApiFake.Tests;

/// <summary>
/// The machine's kubectl against a fake API server: a kubeconfig, discovery cache and HOME of its
/// own in a temporary directory (removed on dispose), commands run to their end, or started and
/// watched while they run (a drain that waits on the test).
/// </summary>
internal sealed class Kubectl : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly DirectoryInfo _directory;
    private readonly string _kubeconfig;

    public Kubectl(FakeKubeApiServer api, string? token = null)
    {
        _directory = Directory.CreateTempSubdirectory("kubeapifake-kubectl-");
        _kubeconfig = Path.Combine(_directory.FullName, "kubeconfig");
        File.WriteAllText(_kubeconfig, token is null ? api.KubeconfigYaml() : api.KubeconfigYaml("default", token));
    }

    /// <summary>Runs kubectl to its end; returns its exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var running = Start(args);
        var code = await running.WaitForExitAsync(CommandTimeout);
        return (code, running.Stdout, running.Stderr);
    }

    /// <summary>Runs kubectl and returns its stdout, failing the test when it exits with an error.</summary>
    public async Task<string> OkAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} failed ({code}): {stderr}{stdout}");
        return stdout;
    }

    /// <summary>Starts kubectl; its output is collected as it comes.</summary>
    public Running Start(params string[] args)
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["KUBECONFIG"] = _kubeconfig,
                ["KUBECACHEDIR"] = Path.Combine(_directory.FullName, "cache"),
                ["HOME"] = _directory.FullName,
            },
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return new Running(Process.Start(start)!, string.Join(' ', args));
    }

    public void Dispose() => _directory.Delete(recursive: true);

    /// <summary>A kubectl process and what it has written so far.</summary>
    internal sealed class Running : IDisposable
    {
        private readonly Process _process;
        private readonly string _command;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly Task _reading;

        public Running(Process process, string command)
        {
            _process = process;
            _command = command;
            _reading = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout), PumpAsync(process.StandardError, _stderr));
        }

        public string Stdout
        {
            get
            {
                lock (_stdout) return _stdout.ToString();
            }
        }

        public string Stderr
        {
            get
            {
                lock (_stdout) return _stderr.ToString();
            }
        }

        /// <summary>Waits for the process to end (killing it after <paramref name="timeout"/>) and all its output; returns the exit code.</summary>
        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                throw new TimeoutException($"kubectl {_command} did not end within {timeout}: {Stderr}{Stdout}");
            }
            await _reading;
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }

        private async Task PumpAsync(StreamReader reader, StringBuilder into)
        {
            var buffer = new char[4096];
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                lock (_stdout) into.Append(buffer, 0, read);
            }
        }
    }
}
