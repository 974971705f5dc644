using System.Net;
using KubeApiFake;
using Microsoft.Extensions.DependencyInjection;
using UserApiOperator.Hosting;
using UserApiOperator.Runtime.Manager;

namespace UserApiOperator.Tests.Live;

/// <summary>/healthz, /readyz and /metrics of the running operator, over real HTTP.</summary>
public sealed class EndpointsTests
{
    private static async Task<(HttpStatusCode Code, string Body)> GetAsync(int port, string path)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_readiness_and_metrics_answer()
    {
        await using var live = await LiveOperator.StartAsync();
        var endpoints = live.Services.GetRequiredService<EndpointsService>();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, "userapi-sample", _ => true);
        live.MarkDeploymentAvailable("userapi-sample");
        await live.WaitForConditionAsync("userapi-sample", "Ready", "True");

        Assert.Equal((HttpStatusCode.OK, "ok"), await GetAsync(endpoints.HealthPort!.Value, "/healthz"));
        Assert.Equal((HttpStatusCode.OK, "ok"), await GetAsync(endpoints.HealthPort.Value, "/readyz"));
        var (code, metrics) = await GetAsync(endpoints.MetricsPort!.Value, "/metrics");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Matches(@"controller_runtime_reconcile_total\{controller=""userapi"",result=""success""\} [1-9]", metrics);
        Assert.Matches(@"controller_runtime_reconcile_total\{controller=""userapi"",result=""requeue_after""\} [1-9]", metrics);
        Assert.Matches(@"controller_runtime_reconcile_time_seconds_count\{controller=""userapi""\} [1-9]", metrics);
        Assert.Contains("workqueue_depth{name=\"userapi\"} ", metrics, StringComparison.Ordinal);
        Assert.Matches(@"controller_runtime_reconcile_errors_total\{controller=""userapi""\} 0", metrics);
        Assert.Matches(@"workqueue_adds_total\{name=""userapi""\} [1-9]", metrics);
        Assert.Matches(@"workqueue_retries_total\{name=""userapi""\} 0", metrics);
        Assert.Matches(@"workqueue_queue_duration_seconds_count\{name=""userapi""\} [1-9]", metrics);
        Assert.Matches(@"workqueue_work_duration_seconds_count\{name=""userapi""\} [1-9]", metrics);
        var host = live.Api.BaseAddress.Authority;
        Assert.Matches($@"rest_client_requests_total\{{code=""200"",method=""GET"",host=""{host}""\}} [1-9]", metrics);
        Assert.Matches($@"rest_client_requests_total\{{code=""201"",method=""POST"",host=""{host}""\}} [1-9]", metrics);
        Assert.Matches($@"rest_client_requests_total\{{code=""200"",method=""PATCH"",host=""{host}""\}} [1-9]", metrics);
        Assert.Contains("# TYPE controller_runtime_reconcile_time_seconds histogram", metrics, StringComparison.Ordinal);
        Assert.Contains("process_resident_memory_bytes ", metrics, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.NotFound, ""), await GetAsync(endpoints.MetricsPort.Value, "/healthz"));
    }

    [Fact]
    public async Task Readyz_is_503_until_the_informers_have_synced()
    {
        await using var live = await LiveOperator.StartAsync(new OperatorOptions(), startOperator: false);
        live.Api.FailNext(1000, 500, r => r.Method == "GET" && !r.IsWatch && r.Path.EndsWith("/deployments", StringComparison.Ordinal));
        await live.StartOperatorAsync(new OperatorOptions());
        var endpoints = live.Services.GetRequiredService<EndpointsService>();

        var (code, body) = await GetAsync(endpoints.HealthPort!.Value, "/readyz");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "informers have not synced yet"), (code, body));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(endpoints.HealthPort.Value, "/healthz")).Code);

        live.Api.Faults.Clear();
        await live.Api.WaitForAsync(() => GetAsync(endpoints.HealthPort.Value, "/readyz").Result.Code == HttpStatusCode.OK, LiveOperator.Timeout);
    }

    [Theory]
    [InlineData(":8081", "0.0.0.0", 8081)]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000)]
    [InlineData("[::1]:9000", "::1", 9000)]
    [InlineData("localhost:0", "127.0.0.1", 0)]
    public void Bind_addresses_parse_like_controller_runtime_flags(string text, string address, int port)
    {
        Assert.True(BindAddress.TryParse(text, out var endpoint));
        Assert.Equal((IPAddress.Parse(address), port), (endpoint!.Address, endpoint.Port));
    }

    [Fact]
    public void Zero_turns_a_server_off_and_nonsense_is_refused()
    {
        Assert.True(BindAddress.TryParse("0", out var off));
        Assert.Null(off);
        Assert.False(BindAddress.TryParse("8081", out _));
        Assert.False(BindAddress.TryParse("host.example:80", out _));
        Assert.False(BindAddress.TryParse(":99999", out _));
    }
}
