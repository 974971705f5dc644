using System.Net;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>
/// Slow <c>/users</c> clients (they read a few bytes of a response too large for the socket buffers and
/// stop) against what they must not take down: readiness has a connection of its own, streams get only
/// a share of the pool, and a client slower than the minimum rate is cut off. The kubelet's readiness
/// probe is played as the operator configures it: <c>GET /ready</c> with a 2 s timeout.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class SlowClientTests(MariaDbFixture fixture)
{
    private const string Wide = "Wide";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Ready_answers_while_slow_users_clients_hold_every_pool_connection()
    {
        // Streams may take the whole pool here, and no stream is cut off or killed while the test runs.
        await using var api = await ApiServer.StartAsync(
            fixture.Database, Wide, "--MYSQL_MAX_POOL_SIZE=4", "--MYSQL_MAX_STREAMS=4", "--MYSQL_STREAM_MIN_RATE=240", "--MYSQL_COMMAND_TIMEOUT=3600");
        using var kubelet = new HttpClient { BaseAddress = api.BaseAddress, Timeout = ProbeTimeout };
        await ExpectReadyAsync(kubelet);

        var slow = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => StalledClient.OpenAsync(api.BaseAddress, "/users")));
        try
        {
            Assert.All(slow, client => Assert.Equal(200, client.StatusCode));
            await Eventually.HoldsAsync(
                "4 streams holding the 4 pool connections",
                async () => await fixture.Database.RunningUserQueriesAsync(Wide) == 4,
                async () => $"{await fixture.Database.RunningUserQueriesAsync(Wide)} running");

            // Within the probe's timeout (the client's), and needing none of the four: all still hold
            // their connection.
            await ExpectReadyAsync(kubelet);
            Assert.Equal(4, await fixture.Database.RunningUserQueriesAsync(Wide));
        }
        finally
        {
            DisposeAll(slow);
        }
    }

    [Fact]
    public async Task Users_by_id_answers_while_slow_users_clients_take_every_stream_slot()
    {
        // Defaults but a small pool: 4 connections, of which half may stream. (The connect timeout
        // stays at its 5 s: the streams open their connections under it, on a machine that may be busy.)
        await using var api = await ApiServer.StartAsync(
            fixture.Database, Wide, "--MYSQL_MAX_POOL_SIZE=4", "--MYSQL_STREAM_MIN_RATE=240", "--MYSQL_COMMAND_TIMEOUT=3600");

        // As many slow clients as the pool has connections. Two stream; the other two wait for a slot,
        // for the connect timeout, and are turned away before their response starts.
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => StalledClient.OpenAsync(api.BaseAddress, "/users")));
        try
        {
            // /users/{id} gets one of the connections the streams may not take.
            using (var user = await api.Client.GetAsync("/users/2"))
            {
                var body = await HttpAssert.JsonBodyAsync(user, HttpStatusCode.OK);
                Assert.StartsWith("""{"user_id":2,"username":"Zoë-2xxx""", body, StringComparison.Ordinal);
            }

            var streaming = clients.Where(client => client.StatusCode == 200).ToList();
            var turnedAway = clients.Except(streaming).ToList();
            Assert.Equal(2, streaming.Count);
            Assert.All(streaming, client => Assert.True(client.IsEstablished));
            Assert.Equal(2, await fixture.Database.RunningUserQueriesAsync(Wide));
            Assert.All(turnedAway, client =>
            {
                Assert.Equal(503, client.StatusCode);
                Assert.Equal("1", client.Header("Retry-After"));
                Assert.Equal("application/json; charset=utf-8", client.Header("Content-Type"));
                Assert.Equal("""{"detail":"Too many concurrent /users requests"}""", client.BodyStart);
            });
        }
        finally
        {
            DisposeAll(clients);
        }
    }

    [Fact]
    public async Task A_users_client_slower_than_the_minimum_rate_is_cut_off_and_its_connection_given_back()
    {
        // 10 MB/s: the few MB the kernel buffers for a stalled client are worth well under a second,
        // so the client is cut off when the grace period (5 s) after the last write it took runs out.
        await using var api = await ApiServer.StartAsync(
            fixture.Database, Wide, "--MYSQL_MAX_POOL_SIZE=2", "--MYSQL_STREAM_MIN_RATE=10000000", "--MYSQL_COMMAND_TIMEOUT=3600");
        using var slow = await StalledClient.OpenAsync(api.BaseAddress, "/users");
        Assert.Equal(200, slow.StatusCode);
        Assert.Contains(MariaDbFixture.WideFirstRowStart, slow.BodyStart, StringComparison.Ordinal);
        Assert.True(slow.IsEstablished, "the slow client's connection is not established");
        await Eventually.HoldsAsync("the stream holding a connection", async () => await fixture.Database.RunningUserQueriesAsync(Wide) == 1);

        // The server closes the slow client's connection (the kernel's view) and the pool gets the
        // database connection back (its own figures), long before the driver's command timeout.
        await Eventually.HoldsAsync(
            "the slow client cut off and its database connection given back",
            async () => !slow.IsEstablished && await api.PoolConnectionsAsync("used") == 0 && await fixture.Database.RunningUserQueriesAsync(Wide) == 0,
            async () => $"client established: {slow.IsEstablished}, pool used: {await api.PoolConnectionsAsync("used")}, "
                + $"running queries: {await fixture.Database.RunningUserQueriesAsync(Wide)}",
            timeout: TimeSpan.FromSeconds(40));

        // What the client had buffered ends without the last chunk: not a complete array.
        var (complete, _, _) = await slow.ReadToEndAsync();
        Assert.False(complete, "the response of a client that was cut off looks complete");

        // A client that reads gets all of it.
        using var whole = await api.Client.GetAsync("/users");
        var text = await HttpAssert.JsonBodyAsync(whole, HttpStatusCode.OK);
        Assert.StartsWith(MariaDbFixture.WideFirstRowStart, text, StringComparison.Ordinal);
        var lastRow = $$"""{"user_id":10000,"username":"Zoë-10000{{new string('x', MariaDbFixture.WideNamePadding)}}","email":"user10000@example.com"}]""";
        Assert.EndsWith(lastRow, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_answers_503_within_the_probe_timeout_when_the_database_hangs()
    {
        await using var api = await ApiServer.StartAsync(fixture.Database);
        using var kubelet = new HttpClient { BaseAddress = api.BaseAddress, Timeout = ProbeTimeout };
        await ExpectReadyAsync(kubelet);

        // Frozen: connections are accepted by the kernel, nothing answers on them.
        await fixture.Database.SignalAsync(freeze: true);
        try
        {
            using var ready = await kubelet.GetAsync("/ready");
            await HttpAssert.ExactJsonAsync(ready, HttpStatusCode.ServiceUnavailable, """{"detail":"Database unavailable"}""");
            Assert.Equal(TimeSpan.FromSeconds(1), ready.Headers.RetryAfter?.Delta);
        }
        finally
        {
            await fixture.Database.SignalAsync(freeze: false);
        }

        await Eventually.HoldsAsync("ready again after the database thawed", async () =>
        {
            try
            {
                using var again = await kubelet.GetAsync("/ready");
                return again.StatusCode == HttpStatusCode.OK;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        });
    }

    private static async Task ExpectReadyAsync(HttpClient kubelet)
    {
        using var ready = await kubelet.GetAsync("/ready");
        await HttpAssert.ExactJsonAsync(ready, HttpStatusCode.OK, """{"status":"ready"}""");
    }

    private static void DisposeAll(IEnumerable<StalledClient> clients)
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
