using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace UserApiOperator.Runtime.Manager;

/// <summary>
/// A small HTTP/1.1 server for the operational endpoints (probes, metrics) on its own address: GET
/// and HEAD of a fixed set of paths, each answered whole with a <c>Content-Length</c>. It is what
/// the kubelet's HTTP prober and a Prometheus scrape need, and no more: the prober sends
/// <c>GET</c> with <c>Connection: close</c> (keep-alives disabled) and takes any 2xx or 3xx status
/// as success (kubernetes <c>pkg/probe/http/http.go</c>, <c>New</c> and <c>DoHTTPProbe</c>); a scrape
/// is a GET on a kept-alive connection. Kestrel and ASP.NET Core's routing would cost the process
/// about 10 MB of resident memory for these three paths (bench/operator).
/// </summary>
/// <remarks>
/// Requests are read one at a time per connection (pipelined ones in order); a request head larger
/// than <see cref="MaxHeadBytes"/> is answered 431, a body (which a GET does not have) is read and
/// dropped up to <see cref="MaxBodyBytes"/>, other methods get 405 with <c>Allow: GET, HEAD</c>,
/// unknown paths 404 with an empty body. A connection idle for <see cref="IdleTimeout"/> is closed,
/// and at most <see cref="MaxConnections"/> are served at once (more are closed at once).
/// </remarks>
public sealed class EndpointServer : IAsyncDisposable
{
    /// <summary>Largest request head (request line and headers) read, in bytes.</summary>
    public const int MaxHeadBytes = 8192;

    /// <summary>Largest request body read and dropped, in bytes.</summary>
    public const int MaxBodyBytes = 65536;

    /// <summary>Connections served at once.</summary>
    public const int MaxConnections = 64;

    /// <summary>How long a connection may wait for its next request (or the rest of one).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly Socket _listener;
    private readonly IReadOnlyDictionary<string, EndpointHandler> _routes;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];

    private EndpointServer(Socket listener, IReadOnlyDictionary<string, EndpointHandler> routes)
    {
        _listener = listener;
        _routes = routes;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port actually bound (useful when asked for port 0).</summary>
    public int Port { get; }

    /// <summary>Binds <paramref name="endpoint"/> and serves <paramref name="routes"/> (exact paths, the query ignored).</summary>
    /// <exception cref="SocketException">The address cannot be bound (in use, or not an address of this machine).</exception>
    public static EndpointServer Start(IPEndPoint endpoint, IReadOnlyDictionary<string, EndpointHandler> routes)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(routes);
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endpoint);
            listener.Listen(MaxConnections);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new EndpointServer(listener, routes);
    }

    /// <summary>Stops accepting, closes every connection and waits for their tasks.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                continue; // A connection reset before it was accepted.
            }

            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                if (_connections.Count >= MaxConnections)
                {
                    socket.Dispose();
                    continue;
                }

                _connections.Add(Task.Run(() => ServeAsync(socket)));
            }
        }
    }

    /// <summary>Serves the requests of one connection until the client or the server closes it.</summary>
    private async Task ServeAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            using (socket)
            {
                socket.NoDelay = true;
                var filled = 0;
                while (!_stopping.IsCancellationRequested)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                    idle.CancelAfter(IdleTimeout);
                    int headLength;
                    while ((headLength = buffer.AsSpan(0, filled).IndexOf(HeadEnd)) < 0)
                    {
                        if (filled == MaxHeadBytes)
                        {
                            await SendAsync(socket, new EndpointResponse(431, "text/plain; charset=utf-8", "request head too large"u8.ToArray()), head: false, close: true, idle.Token).ConfigureAwait(false);
                            return;
                        }

                        var read = await socket.ReceiveAsync(buffer.AsMemory(filled, MaxHeadBytes - filled), SocketFlags.None, idle.Token).ConfigureAwait(false);
                        if (read == 0)
                        {
                            return; // The client closed the connection.
                        }

                        filled += read;
                    }

                    headLength += HeadEnd.Length;
                    var request = Request.Parse(Encoding.ASCII.GetString(buffer, 0, headLength - HeadEnd.Length));
                    Buffer.BlockCopy(buffer, headLength, buffer, 0, filled - headLength);
                    filled -= headLength;
                    if (request is null)
                    {
                        await SendAsync(socket, new EndpointResponse(400, "text/plain; charset=utf-8", "malformed request"u8.ToArray()), head: false, close: true, idle.Token).ConfigureAwait(false);
                        return;
                    }

                    // A body, which a GET does not carry: read and drop it, so the next request starts where it should.
                    var body = request.ContentLength;
                    if (body > MaxBodyBytes || request.Chunked)
                    {
                        await SendAsync(socket, new EndpointResponse(413, "text/plain; charset=utf-8", "request body not accepted"u8.ToArray()), head: false, close: true, idle.Token).ConfigureAwait(false);
                        return;
                    }

                    var dropped = Math.Min(body, filled);
                    Buffer.BlockCopy(buffer, (int)dropped, buffer, 0, filled - (int)dropped);
                    filled -= (int)dropped;
                    for (var rest = body - dropped; rest > 0;)
                    {
                        var read = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(rest, MaxHeadBytes)), SocketFlags.None, idle.Token).ConfigureAwait(false);
                        if (read == 0)
                        {
                            return;
                        }

                        rest -= read;
                    }

                    var response = request.Method is not ("GET" or "HEAD") ? EndpointResponse.MethodNotAllowed
                        : _routes.TryGetValue(request.Path, out var handler) ? await handler(idle.Token).ConfigureAwait(false)
                        : EndpointResponse.NotFound;
                    await SendAsync(socket, response, request.Method == "HEAD", request.Close || response.StatusCode == 405, idle.Token).ConfigureAwait(false);
                    if (request.Close || response.StatusCode == 405)
                    {
                        return;
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Idle too long, reset by the client, or the server stopping: the connection ends.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task SendAsync(Socket socket, EndpointResponse response, bool head, bool close, CancellationToken cancellationToken)
    {
        var header = new StringBuilder()
            .Append("HTTP/1.1 ").Append(response.StatusCode).Append(' ').Append(Reason(response.StatusCode)).Append("\r\n")
            .Append("Content-Type: ").Append(response.ContentType).Append("\r\n")
            .Append("Content-Length: ").Append(response.Body.Length).Append("\r\n");
        if (response.StatusCode == 405)
        {
            header.Append("Allow: GET, HEAD\r\n");
        }

        if (close)
        {
            header.Append("Connection: close\r\n");
        }

        header.Append("\r\n");
        await socket.SendAsync(Encoding.ASCII.GetBytes(header.ToString()), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (!head && response.Body.Length > 0)
        {
            await socket.SendAsync(response.Body, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }

        if (close)
        {
            // A lingering close, as HTTP servers do (nginx's lingering_close): the client may still be
            // sending (the rest of a refused head); closing with unread data would reset the connection
            // and could discard the answer before the client reads it. Read until the client closes,
            // for a moment at most.
            socket.Shutdown(SocketShutdown.Send);
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            linger.CancelAfter(TimeSpan.FromSeconds(2));
            var sink = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                for (var total = 0; total < MaxBodyBytes;)
                {
                    var read = await socket.ReceiveAsync(sink, SocketFlags.None, linger.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(sink);
            }
        }
    }

    private static string Reason(int code) => code switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Status",
    };

    /// <summary>What the server reads of a request head.</summary>
    private sealed record Request(string Method, string Path, long ContentLength, bool Chunked, bool Close)
    {
        /// <summary>Parses a request line and its headers (without the blank line), or answers null when malformed.</summary>
        public static Request? Parse(string head)
        {
            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length == 0)
            {
                return null;
            }

            var (length, chunked, close) = (0L, false, parts[2] == "HTTP/1.0");
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    return null;
                }

                var (name, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length))
                {
                    return null;
                }

                chunked |= name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase);
                if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                {
                    close = value.Contains("close", StringComparison.OrdinalIgnoreCase)
                        || (close && !value.Contains("keep-alive", StringComparison.OrdinalIgnoreCase));
                }
            }

            var path = parts[1].Split('?', 2)[0];
            return new Request(parts[0], path, length, chunked, close);
        }
    }
}

/// <summary>Answers a request to one path of an <see cref="EndpointServer"/>.</summary>
/// <param name="cancellationToken">Cancelled when the server stops or the connection times out.</param>
public delegate ValueTask<EndpointResponse> EndpointHandler(CancellationToken cancellationToken);

/// <summary>A whole response of an <see cref="EndpointServer"/>.</summary>
/// <param name="StatusCode">HTTP status code.</param>
/// <param name="ContentType">The <c>Content-Type</c> header.</param>
/// <param name="Body">The body, sent with its <c>Content-Length</c>.</param>
public sealed record EndpointResponse(int StatusCode, string ContentType, ReadOnlyMemory<byte> Body)
{
    /// <summary>404 with an empty body.</summary>
    public static readonly EndpointResponse NotFound = new(404, "text/plain; charset=utf-8", ReadOnlyMemory<byte>.Empty);

    /// <summary>405; the server adds <c>Allow: GET, HEAD</c> and closes the connection.</summary>
    public static readonly EndpointResponse MethodNotAllowed = new(405, "text/plain; charset=utf-8", ReadOnlyMemory<byte>.Empty);

    /// <summary>A plain-text response.</summary>
    public static EndpointResponse Text(string text, int statusCode = 200) => new(statusCode, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));
}
