using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using KubeApiFake;
using LocalCluster.ApiServer;
using LocalCluster.Metrics;

namespace LocalCluster.Tests.Metrics;

/// <summary>
/// The HPA controller's view of metrics.k8s.io: samples served by the metrics server on loopback,
/// registered with the fake API server as metrics-server is, and read back through the API
/// server's aggregation by <see cref="MetricsApiClient"/> (the fake API server as a cluster's, which
/// serves Endpoints and APIServices).
/// </summary>
public class MetricsApiClientTests
{
    [Fact]
    public async Task ReadsBackThroughTheAggregatorWhatTheMetricsServerServes()
    {
        var pod = new V1Pod
        {
            ApiVersion = "v1", Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = "web-1", NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "web" } },
            Spec = new V1PodSpec { NodeName = "node-1", Containers = [new V1Container { Name = "api" }, new V1Container { Name = "db" }] },
            Status = new V1PodStatus { Phase = "Running" },
        };
        var node = new V1Node { ApiVersion = "v1", Kind = "Node", Metadata = new V1ObjectMeta { Name = "node-1" } };
        var at = DateTimeOffset.UtcNow.AddSeconds(-3);
        var source = new InMemoryResourceMetrics();
        source.Set(new PodUsage("default", "web-1", at, TimeSpan.FromMilliseconds(5012), [new ContainerUsage("api", 377, 27_262_976), new ContainerUsage("db", 4, 81_788_928)]));
        source.Set(new NodeUsage("node-1", at, TimeSpan.FromSeconds(5), 381, 109_051_904));

        await using var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { EmulateCluster = true });
        using var kubernetes = new Kubernetes(new KubernetesClientConfiguration { Host = api.BaseAddress.ToString() });
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        await using var server = await MetricsServer.StartAsync(endpoint, source, () => [pod], () => [node], CancellationToken.None);
        await api.ApplyAsync(MetricsServerRegistration.Yaml(endpoint));

        var client = new MetricsApiClient(kubernetes);
        var pods = await client.GetPodUsageAsync("default", CancellationToken.None);
        var usage = Assert.Single(pods);
        Assert.Equal(("default", "web-1"), (usage.Namespace, usage.Name));
        Assert.Equal(TimeSpan.FromMilliseconds(5012), usage.Window);
        Assert.Equal(at, usage.Timestamp, TimeSpan.FromSeconds(1));
        Assert.Equal([("api", 377L, 27_262_976L), ("db", 4L, 81_788_928L)], usage.Containers.Select(c => (c.Name, c.CpuMillicores, c.MemoryWorkingSetBytes)));
        Assert.Empty(await client.GetPodUsageAsync("other", CancellationToken.None));
        var nodes = await client.GetNodeUsageAsync(CancellationToken.None);
        Assert.Equal(("node-1", 381L, 109_051_904L), (nodes.Single().Name, nodes.Single().CpuMillicores, nodes.Single().MemoryWorkingSetBytes));
    }

    [Theory]
    [InlineData("15s", 15_000)]
    [InlineData("5.012s", 5_012)]
    [InlineData("1m0s", 60_000)]
    [InlineData("500ms", 500)]
    [InlineData("1h2m3s", 3_723_000)]
    public void GoDurationsAreParsed(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), MetricsApiClient.GoDuration(text));

    [Theory]
    [InlineData("12345678n", 13)]
    [InlineData("250m", 250)]
    [InlineData("2", 2000)]
    public void CpuIsRoundedUpToMillicores(string quantity, long millicores) =>
        Assert.Equal(millicores, MetricsApiClient.MilliCpu(quantity));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
