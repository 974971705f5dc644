using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Globalization;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>
/// <c>GET /users</c> streams rows as the database produces them, many rows come out complete, and the
/// bounded connection pool (<c>MYSQL_MAX_POOL_SIZE</c>) behaves: never more connections than that,
/// requests beyond it wait, and a connection comes back whatever way its request ended.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StreamingAndConcurrencyTests(MariaDbFixture fixture)
{
    private const string Stuck = "Stuck";

    [Fact]
    public async Task Users_returns_ten_thousand_rows_complete_and_ordered()
    {
        await using var api = await ApiServer.StartAsync(fixture.Database, "Big");
        using var response = await api.Client.GetAsync("/users", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Streamed: the length is unknown when the headers go out.
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.True(response.Headers.TransferEncodingChunked);

        await using var body = await response.Content.ReadAsStreamAsync();
        using var document = await JsonDocument.ParseAsync(body);
        var users = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(MariaDbFixture.BigRowCount, users.Count);
        for (var i = 0; i < users.Count; i++)
        {
            var id = i + 1;
            Assert.Equal(id, users[i].GetProperty("user_id").GetInt32());
            Assert.Equal($"Zoë-{id}", users[i].GetProperty("username").GetString());
            Assert.Equal($"user{id}@example.com", users[i].GetProperty("email").GetString());
        }
    }

    [Fact]
    public async Task Users_sends_the_first_rows_before_the_database_has_produced_the_last()
    {
        // Stuck.Users produces 100 rows at once and the 101st after an hour: a buffering endpoint sends
        // nothing until then; a streaming one sends the first rows at once, while the query still runs.
        await using var api = await ApiServer.StartAsync(fixture.Database, Stuck);
        using var client = await StalledClient.OpenAsync(api.BaseAddress, "/users", bodyBytes: 32 * 1024);
        Assert.Equal(200, client.StatusCode);
        Assert.Equal("chunked", client.Header("Transfer-Encoding"));
        Assert.Null(client.Header("Content-Length"));
        Assert.Contains(MariaDbFixture.WideFirstRowStart, client.BodyStart, StringComparison.Ordinal);
        Assert.Contains("""{"user_id":10,"username":"Zoë-10xxx""", client.BodyStart, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.Database.RunningUserQueriesAsync(Stuck));
    }

    [Fact]
    public async Task Many_concurrent_requests_share_a_small_pool()
    {
        await using var api = await ApiServer.StartAsync(fixture.Database, "Main", "--MYSQL_MAX_POOL_SIZE=2");
        var before = await ServerConnectionsAsync();
        var ids = Enumerable.Range(1, MariaDbFixture.SeedRowCount).ToList();
        var responses = await Task.WhenAll(ids.Select(id => api.Client.GetAsync($"/users/{id}"))
            .Concat(Enumerable.Range(0, 10).Select(_ => api.Client.GetAsync("/users"))));
        for (var i = 0; i < responses.Length; i++)
        {
            using var response = responses[i];
            using var document = JsonDocument.Parse(await HttpAssert.JsonBodyAsync(response, HttpStatusCode.OK));
            if (i < ids.Count)
            {
                Assert.Equal(ids[i], document.RootElement.GetProperty("user_id").GetInt32());
            }
            else
            {
                Assert.Equal(MariaDbFixture.SeedRowCount, document.RootElement.GetArrayLength());
            }
        }

        // 50 requests at once, at most 2 connections opened (plus the one that read the counter).
        Assert.InRange(await ServerConnectionsAsync() - before, 2, 3);
    }

    [Fact]
    public async Task A_busy_pool_answers_503_after_the_connect_timeout_and_status_stays_responsive()
    {
        // One connection, held by a /users stream of Stuck.Users for as long as the test runs.
        await using var api = await ApiServer.StartAsync(
            fixture.Database, Stuck, "--MYSQL_MAX_POOL_SIZE=1", "--MYSQL_CONNECT_TIMEOUT=1");
        // Open the pool's only connection first: opening one is itself bounded by the 1 s connect
        // timeout, which a busy machine can exceed; then the stream takes it as it is.
        await Eventually.HoldsAsync("the pool's connection open", async () =>
        {
            using var first = await api.Client.GetAsync("/users/1");
            return first.StatusCode == HttpStatusCode.OK;
        });
        using var holding = await StalledClient.OpenAsync(api.BaseAddress, "/users");
        Assert.Equal(200, holding.StatusCode);
        Assert.Equal(1, await fixture.Database.RunningUserQueriesAsync(Stuck));

        // /status does not need the database: it answers while the only connection is taken.
        using (var status = await api.Client.GetAsync("/status"))
        {
            await HttpAssert.ExactJsonAsync(status, HttpStatusCode.OK, "1");
        }

        // /users/{id} waits for a connection for the connect timeout, no less, then answers 503 while
        // the stream still holds it.
        var clock = Stopwatch.StartNew();
        using (var busy = await api.Client.GetAsync("/users/1"))
        {
            clock.Stop();
            await HttpAssert.ExactJsonAsync(busy, HttpStatusCode.ServiceUnavailable, """{"detail":"Database unavailable"}""");
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        }

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"503 after {clock.Elapsed}, before the 1 s connect timeout");
        Assert.Equal(1, await fixture.Database.RunningUserQueriesAsync(Stuck));
        Assert.Equal(1, await api.PoolConnectionsAsync("used"));

        // The client goes; its connection comes back, and the next request gets it.
        holding.Dispose();
        await Eventually.HoldsAsync("the connection given back", async () => await api.PoolConnectionsAsync("used") == 0);
        using var after = await api.Client.GetAsync("/users/1");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_gives_its_connection_back()
    {
        // One connection, and no command timeout to end the query in the meantime: only the client's
        // going can free it. Stuck.Users' query would run for an hour.
        await using var api = await ApiServer.StartAsync(fixture.Database, Stuck, "--MYSQL_MAX_POOL_SIZE=1", "--MYSQL_COMMAND_TIMEOUT=3600");

        var client = await StalledClient.OpenAsync(api.BaseAddress, "/users");
        Assert.Equal(200, client.StatusCode);
        Assert.Contains(MariaDbFixture.WideFirstRowStart, client.BodyStart, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.Database.RunningUserQueriesAsync(Stuck));
        Assert.Equal(1, await api.PoolConnectionsAsync("used"));

        // The client goes: the server notices, cancels the query that is waiting for its next row,
        // and the connection goes back to the pool (its own figures), its query gone from the server.
        client.Dispose();
        await Eventually.HoldsAsync(
            "the connection given back and the query ended",
            async () => await api.PoolConnectionsAsync("used") == 0 && await fixture.Database.RunningUserQueriesAsync(Stuck) == 0,
            async () => $"pool used {await api.PoolConnectionsAsync("used")}, running queries {await fixture.Database.RunningUserQueriesAsync(Stuck)}",
            timeout: TimeSpan.FromSeconds(30));

        using var next = await api.Client.GetAsync("/users/1");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains("\"user_id\":1,", Encoding.UTF8.GetString(await next.Content.ReadAsByteArrayAsync()), StringComparison.Ordinal);
    }

    /// <summary>MariaDB's count of connections made since it started (each client login adds one).</summary>
    private async Task<long> ServerConnectionsAsync()
    {
        var output = await fixture.Database.ExecuteAsync("SHOW GLOBAL STATUS WHERE Variable_name = 'Connections';");
        return long.Parse(output.Split('\t')[1].Trim(), CultureInfo.InvariantCulture);
    }
}
