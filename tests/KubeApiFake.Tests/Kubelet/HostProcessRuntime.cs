using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using LocalCluster.KubeletServer;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// A container runtime whose "containers" are records the test keeps (running or not, a log path
/// or none) and whose exec runs the command as a real process on the host: piped stdin, stdout and
/// stderr, or a real pseudo-terminal (posix_openpt, the command made its session leader with the
/// terminal as its controlling terminal by <c>setsid --ctty</c>). What differs from runc is only
/// where the process runs.
/// </summary>
internal sealed class HostProcessRuntime : IContainerRuntime
{
    private readonly ConcurrentDictionary<string, RuntimeContainerStatus> _containers = new(StringComparer.Ordinal);

    /// <summary>Every exec started, in order (the command lines).</summary>
    public ConcurrentQueue<IReadOnlyList<string>> Execs { get; } = new();

    public void Set(string containerId, bool running, string? logPath = null) => _containers[containerId] = new RuntimeContainerStatus(running, logPath);

    public Task<RuntimeContainerStatus?> GetContainerStatusAsync(string containerId, CancellationToken cancellationToken) =>
        Task.FromResult(_containers.TryGetValue(containerId, out var status) ? status : null);

    public Task<ExecProcess> ExecAsync(string containerId, ExecRequest request, CancellationToken cancellationToken)
    {
        if (!_containers.TryGetValue(containerId, out var status) || !status.Running)
        {
            throw new ExecStartException($"container {containerId} is not running");
        }
        Execs.Enqueue(request.Command);
        return Task.FromResult<ExecProcess>(request.Tty ? TerminalProcess.Start(request.Command) : PipedProcess.Start(request.Command, request.Stdin));
    }

    private sealed class PipedProcess : ExecProcess
    {
        private readonly Process _process;

        private PipedProcess(Process process, bool stdin)
        {
            _process = process;
            Stdin = stdin ? process.StandardInput.BaseStream : null;
            if (!stdin) process.StandardInput.Close();
            Exited = WaitAsync();
        }

        public static PipedProcess Start(IReadOnlyList<string> command, bool stdin)
        {
            if (command.Count == 0) throw new ExecStartException("exec: no command");
            var start = new ProcessStartInfo(command[0])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in command.Skip(1)) start.ArgumentList.Add(argument);
            try
            {
                return new PipedProcess(Process.Start(start)!, stdin);
            }
            catch (Win32Exception)
            {
                throw new ExecStartException($"exec failed: unable to start container process: exec: \"{command[0]}\": executable file not found in $PATH");
            }
        }

        public override Stream? Stdin { get; }

        public override Stream Stdout => _process.StandardOutput.BaseStream;

        public override Stream? Stderr => _process.StandardError.BaseStream;

        public override Task<int> Exited { get; }

        private async Task<int> WaitAsync()
        {
            await _process.WaitForExitAsync().ConfigureAwait(false);
            return _process.ExitCode;
        }

        public override void Resize(TerminalSize size)
        {
        }

        public override void Kill()
        {
            if (!Exited.IsCompleted) _process.Kill(entireProcessTree: true);
        }

        public override async ValueTask DisposeAsync()
        {
            Kill();
            await Exited.ConfigureAwait(false);
            _process.Dispose();
        }
    }

    private sealed class TerminalProcess : ExecProcess
    {
        private readonly Process _process;
        private readonly PseudoTerminal _terminal;

        private TerminalProcess(Process process, PseudoTerminal terminal)
        {
            _process = process;
            _terminal = terminal;
            Exited = WaitAsync();
        }

        public static TerminalProcess Start(IReadOnlyList<string> command)
        {
            var terminal = PseudoTerminal.Open();
            var start = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[] { "-c", "exec setsid --ctty --wait \"$@\" <\"$0\" >\"$0\" 2>&1", terminal.SlavePath }.Concat(command))
            {
                start.ArgumentList.Add(argument);
            }
            var process = Process.Start(start)!;
            process.StandardInput.Close();
            return new TerminalProcess(process, terminal);
        }

        public override Stream? Stdin => _terminal.Input;

        public override Stream Stdout => _terminal.Output;

        public override Stream? Stderr => null;

        public override Task<int> Exited { get; }

        private async Task<int> WaitAsync()
        {
            await _process.WaitForExitAsync().ConfigureAwait(false);
            return _process.ExitCode;
        }

        public override void Resize(TerminalSize size) => _terminal.Resize(size);

        public override void Kill()
        {
            if (!Exited.IsCompleted) _process.Kill(entireProcessTree: true);
        }

        public override async ValueTask DisposeAsync()
        {
            Kill();
            await Exited.ConfigureAwait(false);
            _terminal.Dispose();
            _process.Dispose();
        }
    }
}
