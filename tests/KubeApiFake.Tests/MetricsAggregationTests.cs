using System.Net;
using LocalCluster.Metrics;

namespace KubeApiFake.Tests;

/// <summary>
/// <c>metrics.k8s.io</c> as an aggregated API: an APIService naming a Service whose Endpoints lead
/// to a metrics-server stand-in on loopback; the API server lists the group in discovery, keeps the
/// APIService's Available condition, authorises each request itself and proxies it; the machine's
/// <c>kubectl top pods</c> and <c>kubectl top nodes</c> print what the backend serves.
/// </summary>
public sealed class MetricsAggregationTests : FakeServerTest, IAsyncLifetime
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(15);
    private MetricsBackend _backend = null!;

    protected override FakeKubeApiServerOptions CreateOptions()
    {
        // kubectl sends its token only over TLS.
        var options = Disruption.Options(authorization: true);
        options.UseTls = true;
        return options;
    }

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        _backend = await MetricsBackend.StartAsync(Api);
        await Disruption.CreateNodeAsync(Api, "n1");
        foreach (var pod in new[] { "web-a", "web-b" }) await Disruption.CreateRunningPodAsync(Api, pod, "n1");
        var now = DateTimeOffset.UtcNow;
        _backend.Metrics.Set(new PodUsage("default", "web-a", now, Window, [new ContainerUsage("api", 12, 64L << 20)]));
        _backend.Metrics.Set(new PodUsage("default", "web-b", now, Window, [new ContainerUsage("api", 250, 100L << 20)]));
        _backend.Metrics.Set(new NodeUsage("n1", now, Window, 500, 1L << 30));
        await Api.ApplyAsync(_backend.RegistrationYaml());
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await _backend.DisposeAsync();
        await DisposeAsync();
    }

    [Fact]
    public async Task Kubectl_top_reads_pods_and_nodes_through_the_aggregated_api()
    {
        using var kubectl = new Kubectl(Api);

        var apiServices = await kubectl.OkAsync("get", "apiservices");
        Assert.Matches(@"\nv1beta1\.metrics\.k8s\.io\s+kube-system/metrics-server\s+True\s", apiServices);

        var pods = await kubectl.OkAsync("top", "pods");
        Assert.Matches(@"^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*\nweb-a\s+12m\s+64Mi\s*\nweb-b\s+250m\s+100Mi\s*\n$", pods);
        var nodes = await kubectl.OkAsync("top", "nodes");
        Assert.Matches(@"\nn1\s+500m\s+25%\s+1024Mi\s+25%\s*\n$", nodes);

        // The backend is told who asks, and never sees the client's credentials.
        var (_, headers) = _backend.Received.Last(r => r.Path.StartsWith("/apis/metrics.k8s.io/v1beta1/nodes", StringComparison.Ordinal));
        Assert.Equal("kubernetes-admin", headers["X-Remote-User"].ToString());
        Assert.Equal("system:masters, system:authenticated", headers["X-Remote-Group"].ToString());
        Assert.False(headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task Discovery_lists_the_group_and_the_apiservice_is_available()
    {
        var (_, groups) = await Http.GetJsonAsync("/apis");
        var metrics = groups["groups"]!.AsArray().Single(g => g!["name"].Str() == "metrics.k8s.io")!;
        Assert.Equal("metrics.k8s.io/v1beta1", metrics["preferredVersion"]!["groupVersion"].Str());
        var (_, group) = await Http.GetJsonAsync("/apis/metrics.k8s.io");
        Assert.Equal("APIGroup", group["kind"].Str());
        var (_, resources) = await Http.GetJsonAsync("/apis/metrics.k8s.io/v1beta1");
        Assert.Equal(["nodes", "pods"], resources["resources"]!.AsArray().Select(r => r!["name"].Str()));

        var apiService = Api.Store.Get(KnownResources.ApiServices, null, "v1beta1.metrics.k8s.io")!;
        var available = Disruption.Condition(apiService, "Available")!;
        Assert.Equal(("True", "Passed", "all checks passed"), (available["status"].Str(), available["reason"].Str(), available["message"].Str()));
        Assert.Equal(443, Disruption.Long(apiService["spec"]!["service"]!["port"]));
    }

    [Fact]
    public async Task Each_request_is_authorised_before_it_is_proxied()
    {
        using var reader = Api.CreateClient(Api.IssueServiceAccountToken("default", "reader"));
        var before = _backend.Received.Count;

        var (code, body) = await reader.GetJsonAsync("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods");

        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.Equal(
            "pods.metrics.k8s.io is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"pods\" in API group \"metrics.k8s.io\" in the namespace \"default\"",
            body["message"].Str());
        Assert.Equal(before, _backend.Received.Count);

        await Api.ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: metrics-reader, namespace: default}
            rules:
            - {apiGroups: [metrics.k8s.io], resources: [pods], verbs: [get, list]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: metrics-reader, namespace: default}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: metrics-reader}
            subjects:
            - {kind: ServiceAccount, name: reader, namespace: default}
            """);
        var (allowed, list) = await reader.GetJsonAsync("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-a");
        Assert.Equal(HttpStatusCode.OK, allowed);
        Assert.Equal("PodMetrics", list["kind"].Str());
        Assert.Equal("system:serviceaccount:default:reader", _backend.Received.Last().Headers["X-Remote-User"].ToString());
    }

    [Fact]
    public async Task Without_endpoints_or_a_listening_backend_the_api_is_unavailable()
    {
        using var kubectl = new Kubectl(Api);
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/kube-system/endpoints/metrics-server")).Code);

        var available = Disruption.Condition(Api.Store.Get(KnownResources.ApiServices, null, "v1beta1.metrics.k8s.io")!, "Available")!;
        Assert.Equal(("False", "EndpointsNotFound", "cannot find endpoints for service/metrics-server in \"kube-system\""),
            (available["status"].Str(), available["reason"].Str(), available["message"].Str()));
        using var response = await Http.GetAsync(new Uri("/apis/metrics.k8s.io/v1beta1/nodes", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("service unavailable\n", await response.Content.ReadAsStringAsync());
        Assert.Matches(@"\nv1beta1\.metrics\.k8s\.io\s+kube-system/metrics-server\s+False \(EndpointsNotFound\)\s", await kubectl.OkAsync("get", "apiservices"));
        var (code, _, stderr) = await kubectl.RunAsync("top", "pods");
        Assert.NotEqual(0, code);
        Assert.Contains("the server is currently unable to handle the request", stderr, StringComparison.Ordinal);

        // Endpoints back, but nothing listening there: the dial error, as the aggregator reports it.
        await Api.ApplyAsync(_backend.RegistrationYaml());
        await _backend.DisposeAsync();
        using var gone = await Http.GetAsync(new Uri("/apis/metrics.k8s.io/v1beta1/nodes", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, gone.StatusCode);
        Assert.Equal($"dial tcp 127.0.0.1:{_backend.Port}: connect: connection refused\n", await gone.Content.ReadAsStringAsync());
    }
}
