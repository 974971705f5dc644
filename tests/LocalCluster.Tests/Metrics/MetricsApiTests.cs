using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using LocalCluster.Metrics;
using LocalCluster.Objects;

namespace LocalCluster.Tests.Metrics;

/// <summary>The metrics.k8s.io shapes, checked as JSON and read back by the real kubectl top.</summary>
public class MetricsApiTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly V1Pod Web = new()
    {
        Metadata = new V1ObjectMeta { Name = "web-1", NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "web" } },
    };

    private static readonly V1Pod Db = new()
    {
        Metadata = new V1ObjectMeta { Name = "db-1", NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "db" } },
    };

    private static readonly V1Node Node1 = new()
    {
        Metadata = new V1ObjectMeta { Name = "node-1", Labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = "node-1" } },
        Status = new V1NodeStatus
        {
            Capacity = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2"), ["memory"] = new("4Gi") },
            Allocatable = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2"), ["memory"] = new("4Gi") },
        },
    };

    private static InMemoryResourceMetrics Samples()
    {
        var metrics = new InMemoryResourceMetrics();
        metrics.Set(new PodUsage("default", "web-1", Now.AddSeconds(-7), TimeSpan.FromMilliseconds(15_064),
            [new ContainerUsage("db", 12, 180 << 20), new ContainerUsage("api", 250, 48_500_000)]));
        metrics.Set(new NodeUsage("node-1", Now.AddSeconds(-7), TimeSpan.FromSeconds(20), 500, 2_814_136_320));
        return metrics;
    }

    [Fact]
    public async Task PodMetricsAreMetricsServersShape()
    {
        var (status, body) = (await MetricsApi.Handle("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", null, Samples(), [Web, Db], [Node1], Now, default))!.Value;
        Assert.Equal(200, status);
        Assert.Equal(
            """{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[{"metadata":{"name":"web-1","namespace":"default","creationTimestamp":"2026-12-01T12:00:00Z","labels":{"app":"web"}},"timestamp":"2026-12-01T11:59:53Z","window":"15.064s","containers":[{"name":"db","usage":{"cpu":"12000000n","memory":"180Mi"}},{"name":"api","usage":{"cpu":"250000000n","memory":"48500000"}}]}]}""",
            body.ToJsonString());
        var (missing, error) = (await MetricsApi.Handle("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/db-1", null, Samples(), [Web, Db], [Node1], Now, default))!.Value;
        Assert.Equal(404, missing);
        Assert.Equal("podmetrics.metrics.k8s.io \"default/db-1\" not found", (string?)error["message"]);
        var (_, selected) = (await MetricsApi.Handle("/apis/metrics.k8s.io/v1beta1/pods", "app=db", Samples(), [Web, Db], [Node1], Now, default))!.Value;
        Assert.Empty(selected["items"]!.AsArray());
    }

    [Fact]
    public async Task NodeMetricsAndDiscovery()
    {
        var (_, node) = (await MetricsApi.Handle("/apis/metrics.k8s.io/v1beta1/nodes/node-1", null, Samples(), [], [Node1], Now, default))!.Value;
        Assert.Equal(
            """{"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":"node-1","creationTimestamp":"2026-12-01T12:00:00Z","labels":{"kubernetes.io/hostname":"node-1"}},"timestamp":"2026-12-01T11:59:53Z","window":"20s","usage":{"cpu":"500000000n","memory":"2748180Ki"}}""",
            node.ToJsonString());
        var (_, resources) = (await MetricsApi.Handle("/apis/metrics.k8s.io/v1beta1", null, Samples(), [], [], Now, default))!.Value;
        Assert.Equal(["nodes:NodeMetrics:false", "pods:PodMetrics:true"],
            resources["resources"]!.AsArray().Select(r => $"{r!["name"]}:{r["kind"]}:{r["namespaced"]}"));
        Assert.Null(await MetricsApi.Handle("/apis/apps/v1", null, Samples(), [], [], Now, default));
    }

    [Theory]
    [InlineData(15_000, "15s")]
    [InlineData(20_064, "20.064s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(90_500, "1m30.5s")]
    [InlineData(500, "500ms")]
    [InlineData(3_723_000, "1h2m3s")]
    public void WindowsPrintAsGoDurations(long milliseconds, string expected) =>
        Assert.Equal(expected, MetricsApi.GoDuration(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(0, "0")]
    [InlineData(1500, "1500m")]
    [InlineData(2000, "2")]
    [InlineData(64_000_000_000, "64M")]
    [InlineData(52_428_800_000, "52428800")]
    public void MilliQuantitiesPrintInTheirCanonicalForm(long milli, string expected) => Assert.Equal(expected, Quantities.FormatMilli(milli));

    [Fact]
    public async Task KubectlTopReadsThem()
    {
        // A loopback server with just enough of the API for kubectl top: legacy discovery, the Node
        // list, and the metrics API from MetricsApi.
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var samples = Samples();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception) when (!listener.IsListening)
                {
                    return;
                }
                var path = context.Request.Url!.AbsolutePath;
                var (code, body) = await MetricsApi.Handle(path, context.Request.QueryString["labelSelector"], samples, [Web, Db], [Node1], Now, default) ?? Core(path);
                var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
                context.Response.StatusCode = code;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"metrics-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: c, cluster: {"{"}server: "http://127.0.0.1:{port}"{"}"}{"}"}]
            users: [{"{"}name: u, user: {"{"}{"}"}{"}"}]
            contexts: [{"{"}name: x, context: {"{"}cluster: c, user: u, namespace: default{"}"}{"}"}]
            current-context: x
            """);
        try
        {
            var pods = await KubectlAsync(kubeconfig, "top", "pod", "--containers");
            Assert.Contains("web-1   api    250m         46Mi", pods, StringComparison.Ordinal);
            Assert.Contains("web-1   db     12m          180Mi", pods, StringComparison.Ordinal);
            var nodes = await KubectlAsync(kubeconfig, "top", "node");
            Assert.Contains("node-1   500m         25%", nodes, StringComparison.Ordinal);
            Assert.Contains("2683Mi", nodes, StringComparison.Ordinal);
        }
        finally
        {
            listener.Stop();
            await serving;
            File.Delete(kubeconfig);
        }
    }

    private static (int, JsonObject) Core(string path) => path switch
    {
        "/api" => (200, new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") }),
        "/apis" => (200, new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = new JsonArray(MetricsApi.ApiGroupEntry()) }),
        "/api/v1" => (200, JsonNode.Parse("""
            {"kind":"APIResourceList","groupVersion":"v1","resources":[
              {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","verbs":["get","list"]},
              {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"]}]}
            """)!.AsObject()),
        "/api/v1/nodes" => (200, JsonNode.Parse(KubernetesJson.Serialize(new V1NodeList { ApiVersion = "v1", Kind = "NodeList", Metadata = new V1ListMeta(), Items = [Node1] }))!.AsObject()),
        _ => (404, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "NotFound", ["code"] = 404 }),
    };

    private static async Task<string> KubectlAsync(string kubeconfig, params string[] args)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add($"--kubeconfig={kubeconfig}");
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
