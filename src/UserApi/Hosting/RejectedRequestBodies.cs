using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;

namespace UserApiService.Hosting;

/// <summary>
/// Gives the error responses Kestrel writes itself, for requests it rejects before the application
/// sees them, the same JSON body as every other error: <c>{"detail": "&lt;reason phrase&gt;"}</c>.
/// Examples: <c>GET /users/%00</c> (a NUL in the decoded path) or a malformed request line (400), an
/// over-long request line (414), too large headers (431). Kestrel answers those with an empty body
/// (<c>Content-Length: 0</c>, <c>Connection: close</c>), and no middleware runs for them: Kestrel's
/// maintainers say this category of responses cannot be customised
/// (https://github.com/aspnet/KestrelHttpServer/issues/2947).
/// </summary>
/// <remarks>
/// <para>
/// How: a connection middleware wraps the connection's output <see cref="PipeWriter"/>. Each block
/// Kestrel commits (<see cref="PipeWriter.Advance"/>) is checked for the start of such a response:
/// the block begins with <c>HTTP/1.1 4</c> or <c>HTTP/1.1 5</c>, ends with the blank line after the
/// headers, and has <c>Content-Length: 0</c>. The application never produces that (its 4xx/5xx
/// responses always get a JSON body from <see cref="Errors.ApiErrorResponses"/>), so only
/// Kestrel's own rejections are rewritten: <c>Content-Length</c> set to the body's length, a
/// <c>Content-Type: application/json; charset=utf-8</c> header, and the body. Kestrel writes such a
/// status line and its headers in one block (<c>Http1OutputProducer.WriteResponseHeaders</c>), and
/// closes the connection after it.
/// </para>
/// <para>
/// Cost on every other response: one extra virtual call per write and a look at one byte of each
/// committed block (the full check runs only for a block whose ninth byte is the space after
/// <c>HTTP/1.1</c>).
/// </para>
/// </remarks>
internal static class RejectedRequestBodies
{
    private static readonly byte[] ResponseStart = "HTTP/1.1 "u8.ToArray();
    private static readonly byte[] HeadersEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] EmptyBody = "\r\nContent-Length: 0\r\n"u8.ToArray();

    /// <summary>Adds the connection middleware to every endpoint Kestrel listens on.</summary>
    /// <param name="options">Kestrel's options.</param>
    public static void UseJsonBodiesForRejectedRequests(this KestrelServerOptions options) =>
        options.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new RewritingWriter(transport.Output));
            return next(connection);
        }));

    /// <summary>
    /// When <paramref name="block"/> is a complete header block of a 4xx/5xx response with
    /// <c>Content-Length: 0</c>, returns the same response with a JSON body; otherwise <see langword="null"/>.
    /// </summary>
    /// <param name="block">Bytes Kestrel committed in one call.</param>
    /// <returns>The rewritten response, or <see langword="null"/> to keep the block as it is.</returns>
    internal static byte[]? Rewrite(ReadOnlySpan<byte> block)
    {
        if (block.Length < ResponseStart.Length + 3
            || !block.StartsWith(ResponseStart)
            || block[ResponseStart.Length] is not ((byte)'4' or (byte)'5')
            || !block.EndsWith(HeadersEnd))
        {
            return null;
        }

        var emptyBody = block.IndexOf(EmptyBody);
        if (emptyBody < 0 || emptyBody + EmptyBody.Length > block.Length - 2)
        {
            return null;
        }

        if (!int.TryParse(block.Slice(ResponseStart.Length, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            return null;
        }

        var phrase = ReasonPhrases.GetReasonPhrase(status);
        var body = $"{{\"detail\":\"{(string.IsNullOrEmpty(phrase) ? "Error" : phrase)}\"}}";
        var bodyBytes = Encoding.UTF8.GetByteCount(body);
        var headers = Encoding.ASCII.GetString(block[..emptyBody]);
        var rest = Encoding.ASCII.GetString(block[(emptyBody + EmptyBody.Length)..^2]);
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{headers}\r\nContent-Length: {bodyBytes}\r\nContent-Type: application/json; charset=utf-8\r\n{rest}\r\n{body}"));
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Forwards everything to the transport's writer, rewriting Kestrel's own error responses.</summary>
    private sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _last;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            if (bytes > ResponseStart.Length && _last.Length >= bytes && _last.Span[ResponseStart.Length - 1] == (byte)' '
                && Rewrite(_last.Span[..bytes]) is { } rewritten)
            {
                _last = default;
                inner.Write(rewritten);
                return;
            }

            _last = default;
            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            inner.FlushAsync(cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => _last = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_last = inner.GetMemory(sizeHint)).Span;
    }
}
