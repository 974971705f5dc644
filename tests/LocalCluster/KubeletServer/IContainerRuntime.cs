namespace LocalCluster.KubeletServer;

/// <summary>
/// What the kubelet's server needs from the container runtime, the two CRI calls it makes
/// (k8s.io/cri-api RuntimeService: <c>ContainerStatus</c> and <c>Exec</c>). Container ids are the
/// part of a status's <c>containerID</c> after <c>&lt;runtime&gt;://</c> (for runc: the id given to
/// <c>runc create/run</c>). Implemented for runc by <see cref="RuncRuntime"/>; tests use a runtime
/// whose "containers" are host processes.
/// </summary>
public interface IContainerRuntime
{
    /// <summary>The container's state and log path, or null when the runtime does not know it (never made, or removed).</summary>
    /// <param name="containerId">The container id (without the <c>runc://</c> prefix).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RuntimeContainerStatus?> GetContainerStatusAsync(string containerId, CancellationToken cancellationToken);

    /// <summary>
    /// Starts <paramref name="request"/>'s command inside the running container, as the container's
    /// own process (same namespaces, user, environment, capabilities). Throws
    /// <see cref="ExecStartException"/> when the command cannot be started (no such executable,
    /// container not running), with the runtime's message.
    /// </summary>
    /// <param name="containerId">The container id (without the <c>runc://</c> prefix).</param>
    /// <param name="request">Command and streams.</param>
    /// <param name="cancellationToken">Cancels the start (not the running command: dispose the result for that).</param>
    Task<ExecProcess> ExecAsync(string containerId, ExecRequest request, CancellationToken cancellationToken);
}

/// <summary>A container as the runtime reports it (CRI <c>ContainerStatus</c>, the fields used here).</summary>
/// <param name="Running">True while the container's process runs (CRI <c>CONTAINER_RUNNING</c>).</param>
/// <param name="LogPath">The file its output goes to in the CRI log format, when the runtime records it; null to let the kubelet's layout decide.</param>
public sealed record RuntimeContainerStatus(bool Running, string? LogPath = null);

/// <summary>A command to run in a container.</summary>
/// <param name="Command">The program and its arguments (no shell: <c>["sh", "-c", "..."]</c> for one).</param>
/// <param name="Stdin">True to connect the command's standard input (otherwise it reads end-of-file at once).</param>
/// <param name="Tty">True to run it on a terminal: <see cref="ExecProcess.Stdout"/> then carries both output streams and <see cref="ExecProcess.Stderr"/> is null.</param>
public sealed record ExecRequest(IReadOnlyList<string> Command, bool Stdin, bool Tty);

/// <summary>Width and height of a terminal, in characters (the remote command protocol's resize message).</summary>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
public readonly record struct TerminalSize(ushort Width, ushort Height);

/// <summary>
/// A started command: its streams, its end, and controls. Disposing it kills the command if it still
/// runs and releases the streams.
/// </summary>
public abstract class ExecProcess : IAsyncDisposable
{
    /// <summary>Writes to the command's standard input (or the terminal); null when stdin was not asked for. Disposing it closes the input.</summary>
    public abstract Stream? Stdin { get; }

    /// <summary>The command's standard output (or the terminal's output), read to its end.</summary>
    public abstract Stream Stdout { get; }

    /// <summary>The command's standard error; null on a terminal.</summary>
    public abstract Stream? Stderr { get; }

    /// <summary>Completes with the command's exit code once it has ended.</summary>
    public abstract Task<int> Exited { get; }

    /// <summary>Resizes the terminal (nothing without one).</summary>
    public abstract void Resize(TerminalSize size);

    /// <summary>Kills the command (SIGKILL) if it still runs.</summary>
    public abstract void Kill();

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}

/// <summary>The runtime could not start a command in a container; the message is the runtime's.</summary>
public sealed class ExecStartException(string message) : Exception(message);
