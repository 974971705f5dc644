using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeApiFake;
using LocalCluster.Scheduler;
using LocalCluster.Tests.Support;

namespace LocalCluster.Tests.Scheduler;

/// <summary>The scheduler loop against the fake API server: watches, binds by patching spec.nodeName, writes conditions and Events.</summary>
public class SchedulerLoopTests : FakeCluster
{
    private static V1Node Node(string name, string zone, string cpu = "2") => new()
    {
        ApiVersion = "v1", Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = name, ["topology.kubernetes.io/zone"] = zone },
        },
        Status = new V1NodeStatus
        {
            Allocatable = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new("4Gi"), ["pods"] = new("110") },
        },
    };

    private static V1Pod Pod(string name, string cpu) => new()
    {
        ApiVersion = "v1", Kind = "Pod",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "web" } },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "api", Image = "userapi:latest", Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new("64Mi") } } }],
        },
    };

    [Fact]
    public async Task BindsPendingPodsOnePerNodeAndReportsOneThatFitsNowhereUntilANodeFits()
    {
        foreach (var (name, zone) in new[] { ("node-1", "a"), ("node-2", "b"), ("node-3", "c") }) Put(NodesGvr, Node(name, zone));
        Put(KnownResources.Services, new V1Service
        {
            ApiVersion = "v1", Kind = "Service",
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
            Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" }, Ports = [new V1ServicePort { Port = 80 }] },
        });
        var lines = new List<string>();
        var loop = new SchedulerLoop(Client, new NodeNamePatchBinder(Client), new SchedulerLoopOptions { Log = l => { lock (lines) lines.Add(l); } });
        var (stop, running) = Start(loop.RunAsync);
        try
        {
            for (var i = 0; i < 3; i++) await Client.CoreV1.CreateNamespacedPodAsync(Pod($"web-{i}", "500m"), "default");
            // Bound (spec.nodeName) and then marked PodScheduled=True, as the binding subresource would in one write.
            await WaitForAsync(() => List<V1Pod>(PodsGvr).Count(p => p.Spec.NodeName is not null
                && p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "True") == true) == 3);
            var pods = List<V1Pod>(PodsGvr);
            Assert.Equal(["node-1", "node-2", "node-3"], pods.Select(p => p.Spec.NodeName).Order());
            await WaitForAsync(() => List<Corev1Event>(KnownResources.Events, "default").Count(e => e.Reason == "Scheduled") == 3);
            var scheduled = List<Corev1Event>(KnownResources.Events, "default").First(e => e.Reason == "Scheduled" && e.InvolvedObject.Name == "web-0");
            Assert.Equal($"Successfully assigned default/web-0 to {pods.Single(p => p.Metadata.Name == "web-0").Spec.NodeName}", scheduled.Message);
            Assert.Equal("default-scheduler", scheduled.Source.Component);

            await Client.CoreV1.CreateNamespacedPodAsync(Pod("big", "3"), "default");
            var expected = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
            await WaitForAsync(() => Get<V1Pod>(PodsGvr, "default", "big")?.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False" && c.Message == expected) == true);
            var condition = Get<V1Pod>(PodsGvr, "default", "big")!.Status.Conditions.Single(c => c.Type == "PodScheduled");
            Assert.Equal("Unschedulable", condition.Reason);
            Assert.Null(Get<V1Pod>(PodsGvr, "default", "big")!.Spec.NodeName);
            await WaitForAsync(() => List<Corev1Event>(KnownResources.Events, "default").Any(e => e.Reason == "FailedScheduling" && e.InvolvedObject.Name == "big"));
            var failed = List<Corev1Event>(KnownResources.Events, "default").Single(e => e.Reason == "FailedScheduling");
            Assert.Equal(("Warning", "Scheduling", expected), (failed.Type, failed.Action, failed.Message));

            // A node with room arrives: the Pod is tried again and bound there.
            Put(NodesGvr, Node("node-4", "d", cpu: "4"));
            await WaitForAsync(() => Get<V1Pod>(PodsGvr, "default", "big")?.Spec?.NodeName == "node-4");
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task ACordonedNodeGetsNoPodAndUncordoningItLetsThePodIn()
    {
        var node = Node("only", "a");
        node.Spec = new V1NodeSpec { Unschedulable = true };
        Put(NodesGvr, node);
        var loop = new SchedulerLoop(Client, new NodeNamePatchBinder(Client));
        var (stop, running) = Start(loop.RunAsync);
        try
        {
            await Client.CoreV1.CreateNamespacedPodAsync(Pod("web", "100m"), "default");
            await WaitForAsync(() => Get<V1Pod>(PodsGvr, "default", "web")?.Status?.Conditions?.Any(c => c.Type == "PodScheduled"
                && c.Message == "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.") == true);
            await Client.CoreV1.PatchNodeAsync(new V1Patch("{\"spec\":{\"unschedulable\":null}}", V1Patch.PatchType.MergePatch), "only");
            await WaitForAsync(() => Get<V1Pod>(PodsGvr, "default", "web")?.Spec?.NodeName == "only");
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task ThePatchBinderRefusesAPodReplacedMeanwhile()
    {
        Put(NodesGvr, Node("n", "a"));
        var created = await Client.CoreV1.CreateNamespacedPodAsync(Pod("web", "100m"), "default");
        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch("{\"metadata\":{\"labels\":{\"x\":\"y\"}}}", V1Patch.PatchType.MergePatch), "web", "default");
        var e = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => new NodeNamePatchBinder(Client).BindAsync(created, "n", default));
        Assert.Equal(HttpStatusCode.Conflict, e.Response.StatusCode);
        Assert.Null(Get<V1Pod>(PodsGvr, "default", "web")!.Spec.NodeName);
    }

    [Fact]
    public async Task TheBindingBinderPostsAV1BindingToThePodsBindingSubresource()
    {
        // The fake does not serve pods/binding yet: a loopback listener records what the binder sends.
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var body = await new StreamReader(context.Request.InputStream).ReadToEndAsync();
            context.Response.StatusCode = 201;
            var reply = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":201}"u8.ToArray();
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(reply);
            context.Response.Close();
            return (context.Request.HttpMethod, context.Request.Url!.AbsolutePath, Body: JsonNode.Parse(body)!);
        });
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}" });
        var pod = Pod("web-1", "100m");
        pod.Metadata.Uid = "1234";
        await new BindingSubresourceBinder(client).BindAsync(pod, "node-2", default);
        var (method, path, body) = await received;
        Assert.Equal(("POST", "/api/v1/namespaces/default/pods/web-1/binding"), (method, path));
        Assert.Equal("Binding", (string?)body["kind"]);
        Assert.Equal("1234", (string?)body["metadata"]!["uid"]);
        Assert.Equal(("Node", "node-2"), ((string?)body["target"]!["kind"], (string?)body["target"]!["name"]));
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
