using System.Net;
using System.Net.Sockets;
using System.Text;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>
/// Two rough edges of the HTTP layer, mended as FastAPI behaves: <c>HEAD</c> on a <c>GET</c> route,
/// and requests Kestrel rejects before any middleware runs.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class HttpEdgeTests(MariaDbFixture fixture)
{
    // Headers that frame the body: Kestrel never sends them with a HEAD answer (RFC 9110 9.3.2
    // allows leaving out what is only known while generating the content).
    private static readonly HashSet<string> FramingAndDate = new(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "Transfer-Encoding", "Content-Length",
    };

    private HttpClient Client => fixture.Api.Client;

    [Theory]
    [InlineData("/status", HttpStatusCode.OK)]
    [InlineData("/users", HttpStatusCode.OK)]
    [InlineData("/users/1", HttpStatusCode.OK)]
    [InlineData("/users/999999", HttpStatusCode.NotFound)]
    [InlineData("/users/abc", HttpStatusCode.UnprocessableEntity)]
    [InlineData("/nope", HttpStatusCode.NotFound)]
    [InlineData("/ready", HttpStatusCode.OK)]
    [InlineData("/openapi.json", HttpStatusCode.OK)]
    [InlineData("/metrics", HttpStatusCode.OK)]
    public async Task Head_answers_as_get_would_without_a_body(string path, HttpStatusCode status)
    {
        using var get = await Client.GetAsync(path);
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(status, get.StatusCode);
        Assert.Equal(status, head.StatusCode);
        Assert.NotEmpty(await get.Content.ReadAsByteArrayAsync());
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HeadersOf(get), HeadersOf(head));
    }

    [Fact]
    public async Task Head_is_not_answered_with_405()
    {
        var (status, _, _) = await RawAsync("HEAD /users/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, status);
    }

    [Theory]
    [InlineData("GET /users/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request")]
    [InlineData("GET /us ers HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bad Request")]
    [InlineData("GET /users/1 HTTP/1.1\r\n\r\n", 400, "Bad Request")] // HTTP/1.1 without Host
    public async Task Requests_kestrel_rejects_get_a_json_detail_body(string request, int expectedStatus, string detail)
    {
        var (status, headers, body) = await RawAsync(request);
        Assert.Equal(expectedStatus, status);
        Assert.Contains("Content-Type: application/json; charset=utf-8", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Equal($$"""{"detail":"{{detail}}"}""", body);
    }

    [Fact]
    public async Task Oversized_headers_get_431_with_a_json_detail_body()
    {
        var (status, _, body) = await RawAsync($"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n");
        Assert.Equal(431, status);
        Assert.Equal("""{"detail":"Request Header Fields Too Large"}""", body);
    }

    [Fact]
    public async Task Responses_before_a_rejected_request_on_the_same_connection_are_untouched()
    {
        // Two pipelined requests: a good one, then one Kestrel rejects. The first answer must arrive
        // byte for byte as usual (chunked JSON), the second as JSON 400.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Api.BaseAddress.Host, fixture.Api.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/%00 HTTP/1.1\r\nHost: x\r\n\r\n"));
        var text = await ReadToEndAsync(stream);

        var first = text.IndexOf("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal);
        var second = text.IndexOf("HTTP/1.1 400 Bad Request\r\n", StringComparison.Ordinal);
        Assert.True(first == 0 && second > first, text);
        Assert.Contains("Transfer-Encoding: chunked\r\n\r\n3c\r\n{\"user_id\":1,\"username\":\"Alice\",\"email\":\"alice@example.com\"}\r\n0\r\n\r\n", text[..second], StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n{\"detail\":\"Bad Request\"}", text, StringComparison.Ordinal);
    }

    private static List<string> HeadersOf(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers)
            .Where(header => !FramingAndDate.Contains(header.Key))
            .Select(header => $"{header.Key}: {string.Join(", ", header.Value)}")
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Sends <paramref name="request"/> as raw bytes and reads the one answer until the server closes.</summary>
    private async Task<(int Status, string Headers, string Body)> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Api.BaseAddress.Host, fixture.Api.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var text = await ReadToEndAsync(stream);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, $"no complete response: {text}");
        var headers = text[..split];
        return (int.Parse(headers.AsSpan(9, 3), provider: null), headers, text[(split + 4)..]);
    }

    /// <summary>
    /// Reads until the server closes the connection, as it does after each answer here (<c>Connection:
    /// close</c>, or a request it rejected). Fails the test when it has not after 60 s, rather than
    /// going on with what came so far.
    /// </summary>
    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var received = new MemoryStream();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await stream.CopyToAsync(received, limit.Token);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"the server did not close the connection; got: {Encoding.UTF8.GetString(received.ToArray())}");
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }
}
