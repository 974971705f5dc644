using System.Net;
using System.Net.Sockets;
using System.Text;
using UserApiOperator.Runtime.Manager;

namespace UserApiOperator.Tests.Runtime;

/// <summary>The probes' and metrics' HTTP server, over real sockets on loopback.</summary>
public sealed class EndpointServerTests : IAsyncLifetime
{
    private EndpointServer _server = null!;
    private int _calls;

    public Task InitializeAsync()
    {
        _server = EndpointServer.Start(new IPEndPoint(IPAddress.Loopback, 0), new Dictionary<string, EndpointHandler>(StringComparer.Ordinal)
        {
            ["/healthz"] = _ => ValueTask.FromResult(EndpointResponse.Text("ok")),
            ["/count"] = _ => ValueTask.FromResult(EndpointResponse.Text($"call {Interlocked.Increment(ref _calls)}")),
            ["/busy"] = _ => ValueTask.FromResult(EndpointResponse.Text("not yet", 503)),
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Answers_GET_and_HEAD_with_a_length_and_404_for_other_paths_on_one_kept_alive_connection()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_server.Port}") };

        using var ok = await http.GetAsync(new Uri("/healthz?verbose=1", UriKind.Relative));
        Assert.Equal((HttpStatusCode.OK, "ok", 2L), (ok.StatusCode, await ok.Content.ReadAsStringAsync(), ok.Content.Headers.ContentLength));
        using var busy = await http.GetAsync(new Uri("/busy", UriKind.Relative));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "not yet"), (busy.StatusCode, await busy.Content.ReadAsStringAsync()));
        using var missing = await http.GetAsync(new Uri("/nothing", UriKind.Relative));
        Assert.Equal((HttpStatusCode.NotFound, ""), (missing.StatusCode, await missing.Content.ReadAsStringAsync()));
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/healthz", UriKind.Relative)));
        Assert.Equal((HttpStatusCode.OK, 2L), (head.StatusCode, head.Content.Headers.ContentLength));
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_and_Connection_close_closes()
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, "GET /count HTTP/1.1\r\nHost: x\r\n\r\nGET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        var answer = await ReadToEndAsync(socket);

        Assert.Equal(2, answer.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.True(answer.IndexOf("call 1", StringComparison.Ordinal) < answer.IndexOf("call 2", StringComparison.Ordinal), answer);
        Assert.Contains("Connection: close", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_methods_get_405_with_Allow_and_a_body_is_read_past()
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");

        var answer = await ReadToEndAsync(socket);

        Assert.StartsWith("HTTP/1.1 405 Method Not Allowed\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Allow: GET, HEAD\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_head_too_large_or_malformed_is_refused_and_the_server_goes_on()
    {
        using (var socket = await ConnectAsync())
        {
            await SendAsync(socket, "GET /healthz HTTP/1.1\r\nX-Padding: " + new string('a', EndpointServer.MaxHeadBytes) + "\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 431 ", await ReadToEndAsync(socket), StringComparison.Ordinal);
        }

        using (var socket = await ConnectAsync())
        {
            await SendAsync(socket, "nonsense\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 400 ", await ReadToEndAsync(socket), StringComparison.Ordinal);
        }

        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://127.0.0.1:{_server.Port}/healthz")));
    }

    [Fact]
    public void A_busy_port_is_a_SocketException()
    {
        Assert.Throws<SocketException>(() => EndpointServer.Start(new IPEndPoint(IPAddress.Loopback, _server.Port), new Dictionary<string, EndpointHandler>()));
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _server.Port));
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Everything the server sends until it closes the connection (bounded by a timeout, so a server that never closes fails the test).</summary>
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}
