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
        // Slow.Users yields one row every 2 ms: 1,000 rows take at least 2 s to produce. A buffering
        // endpoint sends nothing until all are read; a streaming one sends the first rows at once.
        await using var api = await ApiServer.StartAsync(fixture.Database, "Slow");
        var clock = Stopwatch.StartNew();
        using var response = await api.Client.GetAsync("/users", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();

        var buffer = new byte[64 * 1024];
        using var received = new MemoryStream();
        var read = await body.ReadAsync(buffer);
        var firstBytesAt = clock.Elapsed;
        while (read > 0)
        {
            received.Write(buffer, 0, read);
            read = await body.ReadAsync(buffer);
        }

        var completeAt = clock.Elapsed;
        var minimumProduction = MariaDbFixture.SlowRowDelay * MariaDbFixture.SlowRowCount;
        Assert.True(completeAt >= minimumProduction * 0.9, $"the slow view was not slow: {completeAt}");
        Assert.True(
            firstBytesAt < completeAt / 2,
            $"first bytes after {firstBytesAt.TotalMilliseconds:0} ms, all after {completeAt.TotalMilliseconds:0} ms: not streamed");

        using var document = JsonDocument.Parse(received.ToArray());
        Assert.Equal(MariaDbFixture.SlowRowCount, document.RootElement.GetArrayLength());
        Assert.Equal(MariaDbFixture.SlowRowCount, document.RootElement[MariaDbFixture.SlowRowCount - 1].GetProperty("user_id").GetInt32());
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
        // One connection, held for about 10 s by a slower /users stream (its headers come with the
        // first rows), so that it is still busy when the second request gives up after 1 s.
        await using var api = await ApiServer.StartAsync(
            fixture.Database, "Slower", "--MYSQL_MAX_POOL_SIZE=1", "--MYSQL_CONNECT_TIMEOUT=1");
        // The precondition is a stream holding the only connection. Opening that connection is itself
        // bounded by the 1 s connect timeout, which a busy machine can exceed once: then try again.
        var slow = await api.Client.GetAsync("/users", HttpCompletionOption.ResponseHeadersRead);
        for (var attempt = 1; slow.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5; attempt++)
        {
            slow.Dispose();
            await Task.Delay(500);
            slow = await api.Client.GetAsync("/users", HttpCompletionOption.ResponseHeadersRead);
        }

        using var holding = slow;
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);

        var clock = Stopwatch.StartNew();
        using (var status = await api.Client.GetAsync("/status"))
        {
            await HttpAssert.ExactJsonAsync(status, HttpStatusCode.OK, "1");
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"/status took {clock.Elapsed} while the pool was busy");

        clock.Restart();
        using (var busy = await api.Client.GetAsync("/users/1"))
        {
            await HttpAssert.ExactJsonAsync(busy, HttpStatusCode.ServiceUnavailable, """{"detail":"Database unavailable"}""");
        }

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(1.9));

        using (var document = JsonDocument.Parse(await HttpAssert.JsonBodyAsync(slow, HttpStatusCode.OK)))
        {
            Assert.Equal(MariaDbFixture.SlowRowCount, document.RootElement.GetArrayLength());
        }

        using var after = await api.Client.GetAsync("/users/1");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_gives_its_connection_back()
    {
        // One connection: if the aborted stream kept it, the next request would wait 5 s and get 503.
        await using var api = await ApiServer.StartAsync(fixture.Database, "Slow", "--MYSQL_MAX_POOL_SIZE=1");

        // No draining on dispose: disposing the body really aborts the connection.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = api.BaseAddress };
        var response = await client.GetAsync("/users", HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1024];
        Assert.True(await body.ReadAsync(buffer) > 0);

        // Abort: the server notices, stops the enumeration and gives the connection back.
        await body.DisposeAsync();
        response.Dispose();

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
