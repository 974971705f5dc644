using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LocalCluster.KubeletServer;

/// <summary>
/// The server side of the remote command protocol over WebSocket, as the kubelet serves exec
/// (k8s.io/kubelet/pkg/cri/streaming/remotecommand: <c>NewOptions</c>, <c>ServeExec</c>,
/// websocket.go <c>createWebSocketStreams</c>; k8s.io/apimachinery/pkg/util/httpstream/wsstream/conn.go).
/// The subprotocol is the first of the client's that the server knows, in the client's order:
/// <c>v5.channel.k8s.io</c> (v4 plus a close message), <c>v4.channel.k8s.io</c>,
/// <c>v4.base64.channel.k8s.io</c>, and the older <c>channel.k8s.io</c>/<c>base64.channel.k8s.io</c>.
/// Every message starts with its channel: 0 stdin (from the client), 1 stdout, 2 stderr, 3 the
/// error channel, 4 terminal resize (from the client, JSON <c>{"Width":80,"Height":24}</c>); in v5 a
/// message <c>[255, n]</c> closes channel n (stdin's end of file). Base64 protocols send text
/// messages: the channel as an ASCII digit, then the data in base64. When the command ends, the
/// error channel carries a <c>metav1.Status</c> (v4 and v5: Success, or Failure with reason
/// <c>NonZeroExitCode</c> and the exit code as the cause <c>ExitCode</c>, or an InternalError when
/// the command could not start; older protocols: the message alone, nothing on success), then the
/// connection closes.
/// </summary>
public static class RemoteCommandServer
{
    /// <summary>Subprotocols served, newest first.</summary>
    public static readonly IReadOnlyList<string> Protocols =
        ["v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"];

    private const byte StdinChannel = 0;
    private const byte StdoutChannel = 1;
    private const byte StderrChannel = 2;
    private const byte ErrorChannel = 3;
    private const byte ResizeChannel = 4;
    private const byte CloseSignal = 255;

    /// <summary>How long output may keep coming after the command ended (a background child holding it open), before the end is reported anyway.</summary>
    private static readonly TimeSpan DrainAfterExit = TimeSpan.FromSeconds(2);

    /// <summary>How long the client has to answer the close message before the connection is dropped.</summary>
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The streams a request asks for (remotecommand <c>Options</c>).</summary>
    public sealed record StreamOptions(bool Stdin, bool Stdout, bool Stderr, bool Tty);

    /// <summary>
    /// remotecommand <c>NewOptions</c>: the <c>input</c>, <c>output</c>, <c>error</c> and <c>tty</c>
    /// query parameters ("1" for true); a terminal has no separate stderr. Null, with the kubelet's
    /// message in <paramref name="error"/>, when no stream at all is asked for.
    /// </summary>
    public static StreamOptions? ParseOptions(IQueryCollection query, out string error)
    {
        error = "";
        var tty = query["tty"].ToString() == "1";
        var stdin = query["input"].ToString() == "1";
        var stdout = query["output"].ToString() == "1";
        var stderr = query["error"].ToString() == "1";
        if (tty && stderr) stderr = false;
        if (!stdin && !stdout && !stderr)
        {
            error = "you must specify at least 1 of stdin, stdout, stderr";
            return null;
        }
        return new StreamOptions(stdin, stdout, stderr, tty);
    }

    /// <summary>The subprotocol to answer with: the first the client offers that is served, or null.</summary>
    public static string? Negotiate(IList<string> offered) => offered.FirstOrDefault(Protocols.Contains);

    /// <summary>
    /// Accepts the WebSocket with <paramref name="protocol"/>, starts the command with
    /// <paramref name="start"/> and relays its streams until it ends and its status is sent.
    /// </summary>
    public static async Task ServeAsync(HttpContext context, string protocol, StreamOptions options,
        Func<CancellationToken, Task<ExecProcess>> start, string commandText, CancellationToken cancellationToken)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = protocol,
            KeepAliveInterval = TimeSpan.FromSeconds(30),
        }).ConfigureAwait(false);
        var session = new Session(socket, protocol);
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted);
        ExecProcess process;
        try
        {
            process = await start(gone.Token).ConfigureAwait(false);
        }
        catch (ExecStartException e)
        {
            await session.SendStatusAsync(InternalError($"error executing command in container: {e.Message}"), gone.Token).ConfigureAwait(false);
            await session.CloseAsync().ConfigureAwait(false);
            await session.AwaitCloseAsync(CloseHandshakeTimeout).ConfigureAwait(false);
            return;
        }

        await using (process.ConfigureAwait(false))
        {
            var reader = session.ReadAsync(process, options, gone.Token);
            // Output nobody asked for is read all the same (and dropped), so the command never blocks on it.
            var stdout = session.PumpAsync(process.Stdout, options.Stdout || options.Tty ? StdoutChannel : null, gone.Token);
            var stderr = process.Stderr is { } err ? session.PumpAsync(err, options.Stderr ? StderrChannel : null, gone.Token) : Task.CompletedTask;

            // The client going away ends the command too.
            var exited = process.Exited;
            if (await Task.WhenAny(exited, reader).ConfigureAwait(false) != exited && !exited.IsCompleted)
            {
                process.Kill();
            }
            var code = await exited.ConfigureAwait(false);
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(DrainAfterExit, gone.Token)).ConfigureAwait(false);

            var status = code == 0
                ? new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" }
                : NonZeroExit(commandText, code);
            if (!gone.IsCancellationRequested)
            {
                await session.SendStatusAsync(status, gone.Token).ConfigureAwait(false);
                await session.CloseAsync().ConfigureAwait(false);

                // The closing handshake: the reader ends on the client's close. Cancelling the read
                // first would abort the connection (a reset), and a reset can take the last
                // messages with it before the client has read them.
                await Task.WhenAny(reader, Task.Delay(CloseHandshakeTimeout, CancellationToken.None)).ConfigureAwait(false);
            }
            await gone.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(reader, stdout, stderr).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
            {
                // The connection is gone; nothing is left to relay.
            }
        }
    }

    /// <summary>
    /// Serves an attach (remotecommand <c>ServeAttach</c>): <paramref name="attach"/> writes the
    /// container's output to the stdout and stderr channels until the container stops (or the client
    /// goes), then the end is reported as Success, or as an InternalError
    /// (<c>error attaching to container: ...</c>) when <paramref name="attach"/> throws an
    /// <see cref="IOException"/>. What the client sends on stdin is read and dropped: the containers
    /// here run without an open stdin.
    /// </summary>
    public static async Task ServeAttachAsync(HttpContext context, string protocol, StreamOptions options,
        Func<Stream, Stream, CancellationToken, Task> attach, CancellationToken cancellationToken)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = protocol,
            KeepAliveInterval = TimeSpan.FromSeconds(30),
        }).ConfigureAwait(false);
        var session = new Session(socket, protocol);
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted);
        var reader = session.ReadAsync(null, options with { Stdin = false }, gone.Token);
        var stdout = new ChannelStream(session, options.Stdout || options.Tty ? StdoutChannel : null);
        var stderr = new ChannelStream(session, options.Stderr ? StderrChannel : null);
        var attached = attach(stdout, stderr, gone.Token);
        if (await Task.WhenAny(attached, reader).ConfigureAwait(false) == reader)
        {
            // The client went away first.
            await gone.CancelAsync().ConfigureAwait(false);
            try
            {
                await attached.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or WebSocketException)
            {
                // Nothing is left to relay.
            }
            return;
        }

        JsonObject status;
        try
        {
            await attached.ConfigureAwait(false);
            status = new JsonObject { ["metadata"] = new JsonObject(), ["status"] = "Success" };
        }
        catch (IOException e)
        {
            status = InternalError($"error attaching to container: {e.Message}");
        }
        try
        {
            await session.SendStatusAsync(status, gone.Token).ConfigureAwait(false);
            await session.CloseAsync().ConfigureAwait(false);

            // The closing handshake ends the reader (see ServeAsync).
            await Task.WhenAny(reader, Task.Delay(CloseHandshakeTimeout, CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away meanwhile.
        }
        await gone.CancelAsync().ConfigureAwait(false);
        await reader.ConfigureAwait(false);
    }

    /// <summary>
    /// remotecommand <c>ServeExec</c>'s failure for an exit code other than 0, with containerd's text
    /// of the exit error (pkg/cri/server/streaming.go: <c>error executing command [..], exit code N</c>).
    /// </summary>
    private static JsonObject NonZeroExit(string commandText, int code) => new()
    {
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = $"command terminated with non-zero exit code: error executing command {commandText}, exit code {code}",
        ["reason"] = "NonZeroExitCode",
        ["details"] = new JsonObject
        {
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = code.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
        },
    };

    private static JsonObject InternalError(string message) => new()
    {
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = $"Internal error occurred: {message}",
        ["reason"] = "InternalError",
        ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["message"] = message }) },
        ["code"] = 500,
    };

    /// <summary>A write-only stream whose writes are messages on one channel (or go nowhere when the channel was not asked for).</summary>
    private sealed class ChannelStream(Session session, byte? channel) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (channel is { } c && buffer.Length > 0) await session.SendAsync(c, buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One connection: framing by protocol, one send at a time.</summary>
    private sealed class Session(WebSocket socket, string protocol)
    {
        private readonly SemaphoreSlim _send = new(1, 1);
        private readonly bool _base64 = protocol.Contains("base64", StringComparison.Ordinal);
        private readonly bool _statusAsJson = protocol.StartsWith("v4.", StringComparison.Ordinal) || protocol.StartsWith("v5.", StringComparison.Ordinal);
        private readonly bool _closeSignal = protocol.StartsWith("v5.", StringComparison.Ordinal);

        public async Task SendAsync(byte channel, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            byte[] message;
            WebSocketMessageType type;
            if (_base64)
            {
                message = Encoding.ASCII.GetBytes((char)('0' + channel) + Convert.ToBase64String(data.Span));
                type = WebSocketMessageType.Text;
            }
            else
            {
                message = new byte[data.Length + 1];
                message[0] = channel;
                data.CopyTo(message.AsMemory(1));
                type = WebSocketMessageType.Binary;
            }
            await _send.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await socket.SendAsync(message, type, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task SendStatusAsync(JsonObject status, CancellationToken cancellationToken)
        {
            if (_statusAsJson)
            {
                await SendAsync(ErrorChannel, JsonSerializer.SerializeToUtf8Bytes(status), cancellationToken).ConfigureAwait(false);
            }
            else if (status["status"]?.GetValue<string>() != "Success")
            {
                await SendAsync(ErrorChannel, Encoding.UTF8.GetBytes(status["message"]?.GetValue<string>() ?? ""), cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                // The client is already gone.
            }
        }

        /// <summary>Reads until the client's close message (or the timeout), discarding anything else.</summary>
        public async Task AwaitCloseAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            var buffer = new byte[4096];
            try
            {
                while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                {
                    var result = await socket.ReceiveAsync(buffer, cancel.Token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // Gone, or too slow: the connection is dropped.
            }
        }

        /// <summary>Copies a command's output to a channel (or nowhere) until its end.</summary>
        public async Task PumpAsync(Stream from, byte? channel, CancellationToken cancellationToken)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
            try
            {
                int read;
                while ((read = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (channel is { } c) await SendAsync(c, buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // A terminal whose last writer is gone reads EIO: its end.
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        /// <summary>Reads the client's messages (stdin, resize, close) until the connection closes.</summary>
        public async Task ReadAsync(ExecProcess? process, StreamOptions options, CancellationToken cancellationToken)
        {
            var stdin = options.Stdin ? process?.Stdin : null;
            var buffer = new byte[64 * 1024];
            var message = new MemoryStream();
            try
            {
                while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                {
                    var result = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close) break;
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage) continue;
                    var bytes = message.ToArray();
                    message.SetLength(0);
                    if (bytes.Length == 0) continue;

                    if (_closeSignal && bytes[0] == CloseSignal)
                    {
                        if (bytes.Length == 2 && bytes[1] == StdinChannel && stdin is not null)
                        {
                            await stdin.DisposeAsync().ConfigureAwait(false);
                            stdin = null;
                        }
                        continue;
                    }

                    var channel = _base64 ? (byte)(bytes[0] - '0') : bytes[0];
                    var data = _base64 ? Convert.FromBase64String(Encoding.ASCII.GetString(bytes, 1, bytes.Length - 1)) : bytes[1..];
                    switch (channel)
                    {
                        case StdinChannel when stdin is not null:
                            try
                            {
                                await stdin.WriteAsync(data, cancellationToken).ConfigureAwait(false);
                                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                            }
                            catch (IOException)
                            {
                                // The command stopped reading (it ended, or closed its input).
                                stdin = null;
                            }
                            break;
                        case ResizeChannel when options.Tty && data.Length > 0 && process is not null:
                            Resize(process, data);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The client went away.
            }
            finally
            {
                if (stdin is not null) await stdin.DisposeAsync().ConfigureAwait(false);
            }
        }

        private static void Resize(ExecProcess process, byte[] json)
        {
            try
            {
                var size = JsonNode.Parse(json) as JsonObject;
                var width = size?["Width"]?.GetValue<int>() ?? 0;
                var height = size?["Height"]?.GetValue<int>() ?? 0;
                if (width is > 0 and <= ushort.MaxValue && height is > 0 and <= ushort.MaxValue)
                {
                    process.Resize(new TerminalSize((ushort)width, (ushort)height));
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                // remotecommand's handleResizeEvents ends on a bad message; here it is just ignored.
            }
        }
    }
}
