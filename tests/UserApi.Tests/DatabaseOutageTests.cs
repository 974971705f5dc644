using System.Net;
using System.Text.Json;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>
/// The database goes away and comes back while the API keeps running: 503 JSON during the outage,
/// <c>/status</c> unaffected, and full recovery without restarting the API (no poisoned pooled
/// connection).
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class DatabaseOutageTests(MariaDbFixture fixture)
{
    private const string Unavailable = """{"detail":"Database unavailable"}""";

    private HttpClient Client => fixture.Api.Client;

    [Fact]
    public async Task Outage_answers_503_json_and_the_api_recovers_when_the_database_returns()
    {
        // Fill the pool with connections that the restart will break.
        await AssertUsersServedAsync(parallel: 8);

        await fixture.Database.StopAsync();
        try
        {
            foreach (var path in new[] { "/users", "/users/1", "/users/41", "/users", "/ready" })
            {
                using var response = await Client.GetAsync(path);
                await HttpAssert.ExactJsonAsync(response, HttpStatusCode.ServiceUnavailable, Unavailable);
            }

            using (var status = await Client.GetAsync("/status"))
            {
                await HttpAssert.ExactJsonAsync(status, HttpStatusCode.OK, "1");
            }

            // Validation does not need the database: still 422 / unknown path still 404.
            using (var invalid = await Client.GetAsync("/users/abc"))
            {
                Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);
            }

            using (var huge = await Client.GetAsync("/users/123456789012345678901234567890"))
            {
                await HttpAssert.ExactJsonAsync(huge, HttpStatusCode.NotFound, """{"detail":"Unknown User ID"}""");
            }
        }
        finally
        {
            await fixture.Database.StartAsync();
        }

        // The very first requests after the restart succeed: no retry, no API restart.
        using (var ready = await Client.GetAsync("/ready"))
        {
            await HttpAssert.ExactJsonAsync(ready, HttpStatusCode.OK, """{"status":"ready"}""");
        }

        await AssertUsersServedAsync(parallel: 8);
        using var one = await Client.GetAsync("/users/4");
        await HttpAssert.ExactJsonAsync(one, HttpStatusCode.OK, """{"user_id":4,"username":"Zoë","email":"zoe@example.com"}""");
    }

    [Fact]
    public async Task Restart_while_idle_does_not_poison_pooled_connections()
    {
        // Several idle pooled connections, and the readiness check's own, all of which die with the
        // restart below.
        await AssertUsersServedAsync(parallel: 8);
        using (var before = await Client.GetAsync("/ready"))
        {
            await HttpAssert.ExactJsonAsync(before, HttpStatusCode.OK, """{"status":"ready"}""");
        }

        await fixture.Database.StopAsync();
        await fixture.Database.StartAsync();

        // No request saw the outage; the first ones after it must not get a dead pooled connection:
        // neither the readiness probe (a failed probe takes the Pod out of the Service) nor a request.
        using (var ready = await Client.GetAsync("/ready"))
        {
            await HttpAssert.ExactJsonAsync(ready, HttpStatusCode.OK, """{"status":"ready"}""");
        }

        using (var first = await Client.GetAsync("/users/1"))
        {
            await HttpAssert.ExactJsonAsync(first, HttpStatusCode.OK, """{"user_id":1,"username":"Alice","email":"alice@example.com"}""");
        }

        await AssertUsersServedAsync(parallel: 8);
    }

    [Fact]
    public async Task Error_responses_never_leak_exception_details()
    {
        await fixture.Database.StopAsync();
        try
        {
            using var response = await Client.GetAsync("/users");
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            foreach (var leak in new[] { "Exception", "MySql", " at ", "<html", "Unable to connect", "127.0.0.1" })
            {
                Assert.DoesNotContain(leak, body, StringComparison.OrdinalIgnoreCase);
            }

            using var document = JsonDocument.Parse(body);
            Assert.Equal(JsonValueKind.String, document.RootElement.GetProperty("detail").ValueKind);
        }
        finally
        {
            await fixture.Database.StartAsync();
        }
    }

    private async Task AssertUsersServedAsync(int parallel)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Client.GetAsync("/users")));
        foreach (var response in responses)
        {
            using (response)
            {
                using var document = JsonDocument.Parse(await HttpAssert.JsonBodyAsync(response, HttpStatusCode.OK));
                Assert.Equal(MariaDbFixture.SeedRowCount, document.RootElement.GetArrayLength());
            }
        }
    }
}
