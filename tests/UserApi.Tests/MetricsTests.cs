using System.Globalization;
using System.Net;
using System.Text.Json;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary><c>/metrics</c>: Prometheus text with HTTP request figures by route and the driver's pool figures.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class MetricsTests(MariaDbFixture fixture)
{
    [Fact]
    public async Task Metrics_show_requests_by_route_and_status_and_the_connection_pool()
    {
        await using var api = await ApiServer.StartAsync(fixture.Database);
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

        // By route template, not by path, with the status code.
        Assert.True(Value(lines, "http_request_duration_seconds_count{", "code=\"200\"", "endpoint=\"/users/{user_id}\"") >= 1);
        Assert.True(Value(lines, "http_request_duration_seconds_count{", "code=\"404\"", "endpoint=\"/users/{user_id}\"") >= 1);
        Assert.DoesNotContain(lines, line => line.Contains("endpoint=\"/users/3\"", StringComparison.Ordinal));

        // MySqlConnector's meter: the connection the query used is idle in the pool now.
        Assert.True(Value(lines, "mysqlconnector_db_client_connections_usage{", "pool_name=\"userapi\"", "state=\"idle\"") >= 1);
        Assert.Contains(lines, line => line.StartsWith("mysqlconnector_db_client_connections_max{pool_name=\"userapi\"}", StringComparison.Ordinal));

        // Requests are measured once (UseHttpMetrics' duration histogram, whose _count is the request
        // count), not a second time through ASP.NET Core's own meters or prometheus-net's request
        // counter, and with no in-progress gauge to update on every request.
        Assert.DoesNotContain(lines, line => line.Contains("http_server_request_duration", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("http_requests_received_total", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("http_requests_in_progress", StringComparison.Ordinal));
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

    /// <summary>The value of the one sample line that starts with <paramref name="prefix"/> and has every label given.</summary>
    private static double Value(string[] lines, string prefix, params string[] labels)
    {
        var matches = lines.Where(line => line.StartsWith(prefix, StringComparison.Ordinal)
            && labels.All(label => line.Contains(label, StringComparison.Ordinal))).ToList();
        Assert.True(matches.Count == 1, $"expected one {prefix} line with {string.Join(", ", labels)}, found {matches.Count}");
        return double.Parse(matches[0][(matches[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
