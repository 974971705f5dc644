using System.Net;

namespace KubeApiFake.Tests;

public sealed class FaultInjectionTests : FakeServerTest
{
    [Fact]
    public async Task FailNext_answers_500_InternalError_Status_then_recovers()
    {
        Api.FailNext(2);

        for (var i = 0; i < 2; i++)
        {
            var (code, body) = await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps");
            Assert.Equal(HttpStatusCode.InternalServerError, code);
            KubeHttp.AssertStatus(body, 500, "InternalError");
        }
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps")).Code);
        Assert.Equal([500, 500, 200], Api.Requests.Select(r => r.StatusCode).ToArray());
    }

    [Fact]
    public async Task FailNext_with_a_matcher_only_hits_matching_requests()
    {
        Api.FailNext(1, 503, r => r.Method == "POST" && r.Path.EndsWith("/configmaps", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps")).Code);
        var (code, body) = await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap("x"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        KubeHttp.AssertStatus(body, 503, "ServiceUnavailable");
        Assert.Null(Api.Store.Get(KnownResources.ConfigMaps, "default", "x"));
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap("x"))).Code);
        Assert.Equal(0, Api.Faults.Pending);

        var write = Assert.Single(Api.WriteRequests, r => r.StatusCode == 201);
        Assert.Equal("create", write.Verb);
        Assert.Contains("\"name\":\"x\"", write.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Latency_delays_answers()
    {
        Api.Latency = TimeSpan.FromMilliseconds(200);
        var started = DateTime.UtcNow;
        await Http.GetJsonAsync("/version");
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(180));
    }
}
