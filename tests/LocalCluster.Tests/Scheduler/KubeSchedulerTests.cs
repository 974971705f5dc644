using k8s.Models;
using LocalCluster.Scheduler;

namespace LocalCluster.Tests.Scheduler;

public class KubeSchedulerTests
{
    private static NodeBuilder Worker(string name, string zone, string cpu = "2", string memory = "4Gi") =>
        Make.Node(name).Capacity(cpu, memory).Label("kubernetes.io/hostname", name).Label("topology.kubernetes.io/zone", zone);

    [Fact]
    public void TheFailureMessageCountsReasonsOverNodesAndAddsThePreemptionDryRun()
    {
        var nodes = new[]
        {
            Worker("node-1", "a", cpu: "1"),
            Worker("node-2", "b").Label("disk", "hdd"),
            Worker("node-3", "c").Label("disk", "hdd"),
        };
        var existing = new[] { Make.Pod("busy").Node("node-1").Req("900m", "100Mi") };
        var pod = Make.Pod("web").Req("500m", "64Mi")
            .RequiredAffinity(new V1NodeSelectorTerm
            {
                MatchExpressions = [new V1NodeSelectorRequirement { Key = "disk", OperatorProperty = "NotIn", Values = ["hdd"] }],
            });

        var result = KubeScheduler.Schedule(pod.Obj(), Make.Cluster(nodes, existing));

        Assert.Null(result.NodeName);
        Assert.Equal(
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. "
            + "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
            result.Message);
        Assert.Equal("NodeResourcesFit", result.Rejected["node-1"].Plugin);
    }

    [Fact]
    public void EveryReasonOfANodeCountsAndTheFirstRejectingPluginDecides()
    {
        // A cordoned node stops at NodeUnschedulable even though the Pod would not fit its memory either.
        var nodes = new[] { Worker("n1", "a", memory: "100Mi").Unschedulable(), Worker("n2", "a", cpu: "100m", memory: "100Mi") };
        var result = KubeScheduler.Schedule(Make.Pod().Req("1", "1Gi").Obj(), Make.Cluster(nodes));
        Assert.Equal(
            "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) were unschedulable. "
            + "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
            result.Message);
    }

    [Fact]
    public void APodThatNeverPreemptsSaysSo()
    {
        var result = KubeScheduler.Schedule(Make.Pod().Req("4").PreemptNever().Obj(), Make.Cluster([Worker("n1", "a")]));
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.", result.Message);
    }

    [Fact]
    public void NoNodesIsTheSchedulersOwnError()
    {
        var result = KubeScheduler.Schedule(Make.Pod().Obj(), Make.Cluster([]));
        Assert.Equal("no nodes available to schedule pods", result.Message);
    }

    [Fact]
    public void LowerPriorityPodsAreVictimsWhenEvictingThemMakesRoom()
    {
        var nodes = new[] { Worker("n1", "a") };
        var existing = new[]
        {
            Make.Pod("low").Node("n1").Req("1").Priority(-10),
            Make.Pod("lowest").Node("n1").Req("500m").Priority(-20),
            Make.Pod("same").Node("n1").Req("400m"),
        };
        var result = KubeScheduler.Schedule(Make.Pod("high").Req("1").Priority(100).Obj(), Make.Cluster(nodes, existing));
        Assert.Null(result.NodeName);
        // A successful preemption adds nothing to the message: only the filters' reasons remain.
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", result.Message);
        Assert.Equal("n1", result.Preemption?.NodeName);
        // Removing both lower-priority Pods frees 1.5 cores; the higher ("low") cannot be spared, "lowest" can.
        Assert.Equal(["low"], result.Preemption!.Victims.Select(v => v.Metadata.Name));
    }

    [Fact]
    public void OneFeasibleNodeIsChosenWithoutScoring()
    {
        var nodes = new[] { Worker("n1", "a").Taint("gpu", "yes", "NoSchedule"), Worker("n2", "b") };
        var result = KubeScheduler.Schedule(Make.Pod().Req("100m").Obj(), Make.Cluster(nodes));
        Assert.Equal("n2", result.NodeName);
        Assert.Empty(result.Scores);
    }

    [Fact]
    public void TheDefaultSpreadPutsThreeReplicasOnThreeNodes()
    {
        // The first end-to-end case as a pure function: three replicas of a Deployment, selected
        // by a Service, on three equal nodes in three zones, land one per node, whatever the tie-breaks.
        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var nodes = new[] { Worker("node-1", "zone-a"), Worker("node-2", "zone-b"), Worker("node-3", "zone-c") };
            var service = new V1Service
            {
                Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
                Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" } },
            };
            var placed = new List<V1Pod>();
            for (var i = 0; i < 3; i++)
            {
                var pod = Make.Pod($"web-{i}").Label("app", "web").Req("50m", "64Mi").Req("100m", "128Mi").Obj();
                var cluster = new ClusterSnapshot { Nodes = [.. nodes.Select(n => n.Obj())], Pods = placed, Services = [service] };
                var result = KubeScheduler.Schedule(pod, cluster, random);
                pod.Spec.NodeName = result.NodeName;
                placed.Add(pod);
            }
            Assert.Equal(["node-1", "node-2", "node-3"], placed.Select(p => p.Spec.NodeName).Order());
        }
    }

    [Fact]
    public void ScoresAddTheWeightedPluginScores()
    {
        // Equal nodes except that n2 has a PreferNoSchedule taint: TaintToleration gives n1 100·3 and n2 0.
        var nodes = new[] { Worker("n1", "a"), Worker("n2", "a").Taint("spot", "true", "PreferNoSchedule") };
        var result = KubeScheduler.Schedule(Make.Pod().Req("100m", "128Mi").Obj(), Make.Cluster(nodes));
        Assert.Equal("n1", result.NodeName);
        Assert.Equal(300, result.PluginScores["TaintToleration"]["n1"]);
        Assert.Equal(0, result.PluginScores["TaintToleration"]["n2"]);
        Assert.Equal(result.PluginScores.Values.Sum(s => s["n1"]), result.Scores["n1"]);
        Assert.Equal(300, result.Scores["n1"] - result.Scores["n2"]);
    }
}
