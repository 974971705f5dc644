using System.Net;
using System.Text.Json;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary><c>/metrics</c>: Prometheus text with the instance's HTTP request figures by route and its pools' figures.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class MetricsTests(MariaDbFixture fixture)
{
    [Fact]
    public async Task Metrics_show_this_instances_requests_by_route_and_status_and_its_connection_pools()
    {
        // Its own registry and pool name: other instances in this process (the fixture's, other
        // tests') neither add to its figures nor make up for figures it lacks.
        await using var api = await ApiServer.StartAsync(fixture.Database, "Main", "--MYSQL_MAX_POOL_SIZE=7");
        using (var user = await api.Client.GetAsync("/users/3"))
        {
            Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        }

        using (var missing = await api.Client.GetAsync("/users/987654"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using var response = await api.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');

        // By route template, not by path, with the status code: exactly this instance's two requests.
        Assert.Equal(1, Value(lines, "http_request_duration_seconds_count{", "code=\"200\"", "endpoint=\"/users/{user_id}\""));
        Assert.Equal(1, Value(lines, "http_request_duration_seconds_count{", "code=\"404\"", "endpoint=\"/users/{user_id}\""));
        Assert.DoesNotContain(lines, line => line.Contains("endpoint=\"/users/3\"", StringComparison.Ordinal));

        // MySqlConnector's meter, this instance's request pool: the one connection both queries used,
        // idle in the pool again, of at most 7.
        var pool = $"pool_name=\"{api.PoolName}\"";
        Assert.Equal(1, Value(lines, "mysqlconnector_db_client_connections_usage{", pool, "state=\"idle\""));
        Assert.Equal(0, Value(lines, "mysqlconnector_db_client_connections_usage{", pool, "state=\"used\""));
        Assert.Equal(7, Value(lines, "mysqlconnector_db_client_connections_max{", pool));

        // And the readiness check's own pool of one, whose connection the probes before used.
        var readiness = $"pool_name=\"{api.PoolName}-ready\"";
        Assert.Equal(1, Value(lines, "mysqlconnector_db_client_connections_usage{", readiness, "state=\"idle\""));
        Assert.Equal(1, Value(lines, "mysqlconnector_db_client_connections_max{", readiness));

        // Requests are measured once (UseHttpMetrics' duration histogram, whose _count is the request
        // count), not a second time through ASP.NET Core's own meters or prometheus-net's request
        // counter, and with no in-progress gauge to update on every request.
        Assert.DoesNotContain(lines, line => line.Contains("http_server_request_duration", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("http_requests_received_total", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("http_requests_in_progress", StringComparison.Ordinal));

        // Process and runtime figures as before the registry was the instance's own.
        Assert.Contains(lines, line => line.StartsWith("process_cpu_seconds_total ", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("dotnet_total_memory_bytes ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_is_not_in_the_openapi_document()
    {
        using var response = await fixture.Api.Client.GetAsync("/openapi.json");
        using var document = JsonDocument.Parse(await HttpAssert.JsonBodyAsync(response, HttpStatusCode.OK));
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain("/metrics", paths);
        Assert.Contains("/users/{user_id}", paths);
    }

    private static double Value(string[] lines, string prefix, params string[] labels) => PrometheusText.Value(lines, prefix, labels);
}
