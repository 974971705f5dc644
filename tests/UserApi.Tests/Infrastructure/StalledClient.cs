using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace UserApiService.Tests.Infrastructure;

/// <summary>
/// A slow client over its own TCP connection: it sends <c>GET path</c>, reads the response head and the
/// first bytes of the body, and then stops reading, as a client on a stalled link or a hostile one
/// does, so that the server can only go on as far as the socket buffers let it. A response with a
/// <c>Content-Length</c> (an error answered before streaming) is read whole.
/// </summary>
public sealed class StalledClient : IDisposable
{
    private static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(60);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly MemoryStream _received = new();

    private StalledClient(TcpClient connected)
    {
        _tcp = connected;
        _stream = connected.GetStream();
    }

    /// <summary>The client's end of the connection.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_tcp.Client.LocalEndPoint!;

    /// <summary>The server's end of the connection.</summary>
    public IPEndPoint RemoteEndPoint => (IPEndPoint)_tcp.Client.RemoteEndPoint!;

    /// <summary>Whether the kernel still has this client's connection established (not reset or closed by the server).</summary>
    public bool IsEstablished => KernelTcp.StateOf(LocalEndPoint, RemoteEndPoint) == KernelTcp.Established;

    /// <summary>The response's status code.</summary>
    public int StatusCode { get; private set; }

    /// <summary>The response head (status line and headers, without the blank line).</summary>
    public string Head { get; private set; } = string.Empty;

    /// <summary>What was read of the body so far (chunk framing removed), as UTF-8 text.</summary>
    public string BodyStart { get; private set; } = string.Empty;

    /// <summary>Connects, sends the request and reads the head and at least <paramref name="bodyBytes"/> bytes of the body.</summary>
    public static async Task<StalledClient> OpenAsync(Uri baseAddress, string path, int bodyBytes = 1024)
    {
        // IPv4, so that the kernel lists it in /proc/net/tcp (a dual-mode socket is in tcp6).
        var tcp = new TcpClient(AddressFamily.InterNetwork);
        try
        {
            await tcp.ConnectAsync(IPAddress.Parse(baseAddress.Host), baseAddress.Port);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }

        var client = new StalledClient(tcp);
        try
        {
            await client._stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\n\r\n"));
            await client.ReadHeadAndBodyStartAsync(bodyBytes);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The value of response header <paramref name="name"/>, or null.</summary>
    public string? Header(string name) =>
        Head.Split("\r\n").Skip(1)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && string.Equals(parts[0].Trim(), name, StringComparison.OrdinalIgnoreCase))
            .Select(parts => parts[1].Trim())
            .FirstOrDefault();

    /// <summary>
    /// Reads the rest of the response until the server closes or resets the connection. Returns whether
    /// the body ended properly (the last chunk of a chunked body was received) and the error, if the
    /// connection was reset. Fails the test when the server neither ends nor closes within 60 s.
    /// </summary>
    public async Task<(bool Complete, long Bytes, Exception? Error)> ReadToEndAsync()
    {
        using var limit = new CancellationTokenSource(ReadLimit);
        var buffer = new byte[256 * 1024];
        var bytes = 0L;
        var tail = new List<byte>();
        Exception? error = null;
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(buffer, limit.Token);
                if (read == 0)
                {
                    break;
                }

                bytes += read;
                tail.AddRange(buffer.AsSpan(Math.Max(0, read - 16), Math.Min(read, 16)).ToArray());
                if (tail.Count > 16)
                {
                    tail.RemoveRange(0, tail.Count - 16);
                }
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"the server neither finished nor closed the response within {ReadLimit.TotalSeconds} s");
        }
        catch (IOException exception)
        {
            error = exception;
        }

        var complete = Encoding.ASCII.GetString(tail.ToArray()).EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        return (complete, bytes, error);
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
        _received.Dispose();
    }

    private async Task ReadHeadAndBodyStartAsync(int bodyBytes)
    {
        using var limit = new CancellationTokenSource(ReadLimit);
        var buffer = new byte[4096];
        while (true)
        {
            if (TryParse(bodyBytes))
            {
                return;
            }

            int read;
            try
            {
                // Small reads: only as much as asked for leaves the socket's receive buffer.
                read = await _stream.ReadAsync(buffer, limit.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException(
                    $"no response head and {bodyBytes} body bytes within {ReadLimit.TotalSeconds} s; got: {Encoding.UTF8.GetString(_received.ToArray())}");
            }

            if (read == 0)
            {
                throw new Xunit.Sdk.XunitException($"the server closed the connection early; got: {Encoding.UTF8.GetString(_received.ToArray())}");
            }

            _received.Write(buffer, 0, read);
        }
    }

    /// <summary>
    /// Parses what was received: the head, then the body (de-chunked). True once the head and either
    /// <paramref name="bodyBytes"/> bytes of body or the whole body (its <c>Content-Length</c>, or the
    /// last chunk) are in.
    /// </summary>
    private bool TryParse(int bodyBytes)
    {
        var raw = _received.ToArray();
        var headEnd = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return false;
        }

        Head = Encoding.ASCII.GetString(raw, 0, headEnd);
        StatusCode = int.Parse(Head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        var rest = raw.AsSpan(headEnd + 4);
        using var body = new MemoryStream();
        bool whole;
        if (Header("Content-Length") is { } length)
        {
            var expected = int.Parse(length, CultureInfo.InvariantCulture);
            body.Write(rest[..Math.Min(expected, rest.Length)]);
            whole = rest.Length >= expected;
        }
        else
        {
            whole = Dechunk(rest, body);
        }

        BodyStart = Encoding.UTF8.GetString(body.ToArray());
        return whole || body.Length >= bodyBytes;
    }

    /// <summary>Appends the data of the complete chunks in <paramref name="chunked"/> to <paramref name="body"/>; true when the last chunk was among them.</summary>
    private static bool Dechunk(ReadOnlySpan<byte> chunked, MemoryStream body)
    {
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                return false;
            }

            var size = int.Parse(Encoding.ASCII.GetString(chunked[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return true;
            }

            var data = chunked[(lineEnd + 2)..];
            body.Write(data[..Math.Min(size, data.Length)]);
            if (data.Length < size + 2)
            {
                return false;
            }

            chunked = data[(size + 2)..];
        }
    }
}
