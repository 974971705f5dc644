using Xunit.Abstractions;
using System.Net;

namespace KubeApiFake.Tests;

/// <summary>
/// The machine's kubectl cordons, uncordons and drains a Node of the fake: cordon patches
/// <c>spec.unschedulable</c> and the node lifecycle controller taints the Node; drain evicts the
/// Node's Pods through <c>pods/eviction</c>, is refused with 429 while the budget allows no
/// disruption (and retries every 5 s), and completes once the test, playing the kubelet, the
/// ReplicaSet and the disruption controller, lets it.
/// </summary>
public sealed class KubectlDrainTests(ITestOutputHelper output) : FakeServerTest
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    protected override FakeKubeApiServerOptions CreateOptions() => Disruption.Options();

    private static bool IsEviction(RecordedRequest r) => r.Method == "POST" && r.Path.EndsWith("/eviction", StringComparison.Ordinal);

    private static string PodOf(RecordedRequest eviction) => eviction.Path.Split('/')[^2];

    [Fact]
    public async Task Cordon_sets_unschedulable_and_the_node_lifecycle_controller_taints_the_node()
    {
        await Disruption.CreateNodeAsync(Api, "n1");
        using var kubectl = new Kubectl(Api);

        Assert.Equal("node/n1 cordoned\n", await kubectl.OkAsync("cordon", "n1"));

        var node = Api.Store.Get(KnownResources.Nodes, null, "n1")!;
        Assert.True(node["spec"]!["unschedulable"]!.GetValue<bool>());
        var taint = node["spec"]!["taints"]!.AsArray().Single()!;
        Assert.Equal(("node.kubernetes.io/unschedulable", "NoSchedule"), (taint["key"].Str(), taint["effect"].Str()));
        Assert.NotNull(taint["timeAdded"]);
        Assert.Matches(@"\nn1\s+Ready,SchedulingDisabled\s", await kubectl.OkAsync("get", "nodes"));
        var described = await kubectl.OkAsync("describe", "node", "n1");
        Assert.Matches(@"Taints:\s+node\.kubernetes\.io/unschedulable:NoSchedule", described);
        Assert.Matches(@"Unschedulable:\s+true", described);
        Assert.Equal("node/n1 already cordoned\n", await kubectl.OkAsync("cordon", "n1"));

        Assert.Equal("node/n1 uncordoned\n", await kubectl.OkAsync("uncordon", "n1"));

        node = Api.Store.Get(KnownResources.Nodes, null, "n1")!;
        Assert.Null(node["spec"]!["unschedulable"]);
        Assert.Null(node["spec"]!["taints"]);
    }

    [Fact]
    public async Task Drain_evicts_waits_while_the_budget_allows_nothing_and_completes_once_the_pods_are_replaced()
    {
        await Disruption.CreateNodeAsync(Api, "n1");
        await Disruption.CreateNodeAsync(Api, "n2");
        foreach (var (pod, node) in new[] { ("web-a", "n1"), ("web-b", "n1"), ("web-c", "n2") }) await Disruption.CreateRunningPodAsync(Api, pod, node);
        await Disruption.CreateBudgetAsync(Api, minAvailable: 2, healthy: 3, expected: 3);
        using var kubectl = new Kubectl(Api);

        using var drain = kubectl.Start("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s");

        // kubectl evicts both Pods at once: the budget lets one go and refuses the other.
        var first = await Api.WaitForRequestAsync(r => IsEviction(r) && r.StatusCode == 201, Wait);
        var refused = await Api.WaitForRequestAsync(r => IsEviction(r) && r.StatusCode == 429, Wait);
        var evicted = PodOf(first);
        var waiting = PodOf(refused);
        Assert.NotEqual(evicted, waiting);
        Assert.True(Api.Store.Get(KnownResources.Nodes, null, "n1")!["spec"]!["unschedulable"]!.GetValue<bool>());
        var leaving = Api.Store.Get(KnownResources.Pods, "default", evicted)!;
        Assert.NotNull(leaving["metadata"]!["deletionTimestamp"]);
        Assert.Equal("EvictionByEvictionAPI", Disruption.Condition(leaving, "DisruptionTarget")!["reason"].Str());
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", waiting)!["metadata"]!["deletionTimestamp"]);

        // The kubelet stops the evicted Pod and deletes it; its ReplicaSet's replacement runs on n2
        // and is Ready; the disruption controller counts three healthy Pods again.
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync($"/api/v1/namespaces/default/pods/{evicted}?gracePeriodSeconds=0")).Code);
        await Disruption.CreateRunningPodAsync(Api, "web-d", "n2");
        Disruption.SetBudgetStatus(Api, minAvailable: 2, healthy: 3, expected: 3);

        // kubectl's next try (5 s after the refusal) goes through; the kubelet deletes that Pod too.
        await Api.WaitForObjectAsync(KnownResources.Pods, "default", waiting, p => p["metadata"]?["deletionTimestamp"] is not null, Wait);
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync($"/api/v1/namespaces/default/pods/{waiting}?gracePeriodSeconds=0")).Code);

        var exit = await drain.WaitForExitAsync(Wait);
        output.WriteLine($"kubectl drain (exit {exit}):\n{drain.Stdout}--- stderr:\n{drain.Stderr}");
        Assert.Equal(0, exit);
        Assert.Contains("node/n1 cordoned", drain.Stdout, StringComparison.Ordinal);
        Assert.Contains($"evicting pod default/{waiting}", drain.Stdout, StringComparison.Ordinal);
        Assert.Contains($"pod/{evicted} evicted", drain.Stdout, StringComparison.Ordinal);
        Assert.Contains($"pod/{waiting} evicted", drain.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("node/n1 drained\n", drain.Stdout, StringComparison.Ordinal);
        Assert.Contains(
            $"error when evicting pods/\"{waiting}\" -n \"default\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.",
            drain.Stderr, StringComparison.Ordinal);
        Assert.All(Api.Requests.Where(IsEviction), r => Assert.Equal("policy/v1", KubeHttp.Parse(r.Body!)["apiVersion"].Str()));
        Assert.NotNull(Api.Store.Get(KnownResources.Pods, "default", "web-c"));
        Assert.Empty(Api.ServerErrors);
    }

    [Fact]
    public async Task A_drain_the_budget_blocks_gives_up_at_its_timeout_and_evicts_nothing()
    {
        await Disruption.CreateNodeAsync(Api, "n1");
        foreach (var pod in new[] { "web-a", "web-b" }) await Disruption.CreateRunningPodAsync(Api, pod, "n1");
        await Disruption.CreateBudgetAsync(Api, minAvailable: 2, healthy: 2, expected: 2);
        using var kubectl = new Kubectl(Api);

        var (code, stdout, stderr) = await kubectl.RunAsync("drain", "n1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=3s");
        output.WriteLine($"kubectl drain (exit {code}):\n{stdout}--- stderr:\n{stderr}");

        Assert.NotEqual(0, code);
        Assert.Contains("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.", stderr, StringComparison.Ordinal);
        Assert.Contains("global timeout reached: 3s", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("drained", stdout, StringComparison.Ordinal);
        Assert.All(new[] { "web-a", "web-b" }, p => Assert.Null(Api.Store.Get(KnownResources.Pods, "default", p)!["metadata"]!["deletionTimestamp"]));
        Assert.All(Api.Requests.Where(IsEviction), r => Assert.Equal(429, r.StatusCode));
    }
}
