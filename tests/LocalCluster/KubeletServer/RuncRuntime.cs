using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LocalCluster.KubeletServer;

/// <summary>
/// <see cref="IContainerRuntime"/> over runc, for containers the kubelet runs with
/// <c>runc --root &lt;root&gt;</c>: the status is <c>runc state</c> (running when its status is
/// <c>running</c>; the log path from the <c>io.kubernetes.cri-o.LogPath</c> annotation when the
/// container has one, as CRI-O records it), and exec is <c>runc exec</c>, which starts the command
/// with the container's namespaces, user, environment, capabilities and seccomp profile, as a CRI
/// runtime's exec does. With a terminal (<c>runc exec --tty</c>, and <c>TERM=xterm</c> as
/// containerd sets it for a terminal exec), runc makes the pty inside the container and relays it
/// to its own terminal, a <see cref="PseudoTerminal"/> made here. runc's <c>--pid-file</c> tells a
/// started command from one that could not start (runc then exits 255 with its error, e.g. an
/// executable not found).
/// </summary>
/// <param name="root">runc's state directory (<c>--root</c>).</param>
/// <param name="runc">The runc binary.</param>
public sealed partial class RuncRuntime(string root, string runc = "runc") : IContainerRuntime
{
    /// <summary>The annotation CRI-O puts a container's log path in.</summary>
    public const string LogPathAnnotation = "io.kubernetes.cri-o.LogPath";

    /// <inheritdoc />
    public async Task<RuntimeContainerStatus?> GetContainerStatusAsync(string containerId, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(runc)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "--root", root, "state", containerId },
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {runc}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await errors.ConfigureAwait(false);
        if (process.ExitCode != 0) return null;
        using var state = JsonDocument.Parse(await output.ConfigureAwait(false));
        var running = state.RootElement.TryGetProperty("status", out var status) && status.GetString() == "running";
        string? logPath = null;
        if (state.RootElement.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
            && annotations.TryGetProperty(LogPathAnnotation, out var path))
        {
            logPath = path.GetString();
        }
        return new RuntimeContainerStatus(running, logPath);
    }

    /// <inheritdoc />
    public async Task<ExecProcess> ExecAsync(string containerId, ExecRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var work = Directory.CreateTempSubdirectory("runc-exec-");
        var pidFile = Path.Combine(work.FullName, "pid");
        PseudoTerminal? terminal = null;
        Process? process = null;
        try
        {
            var runcArguments = new List<string> { runc, "--root", root, "exec", "--pid-file", pidFile };
            ProcessStartInfo start;
            if (request.Tty)
            {
                // runc makes the container's pty and, in the foreground, relays it to a terminal of its
                // own (it refuses --console-socket without --detach, and a detached command's exit status
                // would be lost): runc runs on a pty made here, as the session leader with it as its
                // controlling terminal, so that a resize here reaches runc as SIGWINCH and runc resizes
                // the container's pty. runc's own errors still go to the stderr pipe. That terminal is
                // raw from the start (runc makes it raw too, but only once the command may have written):
                // the container's pty does the terminal's work, and this one only carries bytes.
                terminal = PseudoTerminal.Open();
                runcArguments.AddRange(["--tty", "--env", "TERM=xterm"]);
                start = new ProcessStartInfo("/bin/sh");
                foreach (var argument in new[] { "-c", "stty raw -echo <\"$0\" && exec setsid --ctty --wait \"$@\" <\"$0\" >\"$0\"", terminal.SlavePath })
                {
                    start.ArgumentList.Add(argument);
                }
            }
            else
            {
                start = new ProcessStartInfo(runc);
                runcArguments.RemoveAt(0);
            }
            runcArguments.Add(containerId);
            runcArguments.AddRange(request.Command);
            foreach (var argument in runcArguments) start.ArgumentList.Add(argument);
            start.RedirectStandardInput = true;
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;

            process = Process.Start(start) ?? throw new ExecStartException($"cannot start {runc}");
            if (!request.Stdin || request.Tty) process.StandardInput.Close();

            // Started (pid file written) or failed (runc exited without one).
            var exited = process.WaitForExitAsync(CancellationToken.None);
            while (!File.Exists(pidFile) && !exited.IsCompleted)
            {
                await Task.WhenAny(exited, Task.Delay(10, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (!File.Exists(pidFile))
            {
                var message = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                throw new ExecStartException($"OCI runtime exec failed: {RuncMessage(message)}: unknown");
            }
            var pid = int.Parse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);

            var result = new RuncExecProcess(process, pid, terminal, request.Stdin && !request.Tty, work);
            process = null;
            terminal = null;
            return result;
        }
        catch (Win32Exception e)
        {
            throw new ExecStartException($"cannot run {runc}: {e.Message}");
        }
        finally
        {
            terminal?.Dispose();
            if (process is not null)
            {
                if (!process.HasExited) process.Kill();
                process.Dispose();
                work.Delete(recursive: true);
            }
        }
    }

    /// <summary>The message of runc's logrus line (<c>time=... level=error msg="..."</c>), or its text as it is.</summary>
    private static string RuncMessage(string stderr)
    {
        var match = LogrusMessage().Match(stderr);
        return match.Success ? Regex.Unescape(match.Groups[1].Value) : stderr.Trim();
    }

    [GeneratedRegex("msg=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LogrusMessage();

    /// <summary>A running <c>runc exec</c>.</summary>
    private sealed class RuncExecProcess : ExecProcess
    {
        private readonly Process _runc;
        private readonly int _pid;
        private readonly PseudoTerminal? _pty;
        private readonly DirectoryInfo _work;

        public RuncExecProcess(Process runc, int pid, PseudoTerminal? pty, bool stdin, DirectoryInfo work)
        {
            _runc = runc;
            _pid = pid;
            _pty = pty;
            _work = work;
            Stdin = pty?.Input ?? (stdin ? runc.StandardInput.BaseStream : null);
            Stdout = pty?.Output ?? runc.StandardOutput.BaseStream;
            Stderr = pty is null ? runc.StandardError.BaseStream : null;
            if (pty is not null)
            {
                // runc's own errors are not the command's output: read them away so runc never blocks on them.
                _ = runc.StandardOutput.ReadToEndAsync();
                _ = runc.StandardError.ReadToEndAsync();
            }
            Exited = WaitAsync();
        }

        public override Stream? Stdin { get; }

        public override Stream Stdout { get; }

        public override Stream? Stderr { get; }

        public override Task<int> Exited { get; }

        private async Task<int> WaitAsync()
        {
            await _runc.WaitForExitAsync().ConfigureAwait(false);
            return _runc.ExitCode;
        }

        public override void Resize(TerminalSize size) => _pty?.Resize(size);

        public override void Kill()
        {
            // runc forwards the signals it can catch to the command; SIGKILL it cannot, so it goes to the
            // command itself. runc, its parent, then reaps it and exits (137), which ends Exited.
            if (!Exited.IsCompleted) _ = KillSyscall(_pid, 9);
        }

        public override async ValueTask DisposeAsync()
        {
            Kill();
            try
            {
                await Exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _runc.Kill(entireProcessTree: true);
                await Exited.ConfigureAwait(false);
            }
            _pty?.Dispose();
            _runc.Dispose();
            try
            {
                _work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Left for the temp directory's cleaner.
            }
        }

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int KillSyscall(int pid, int signal);
    }
}
