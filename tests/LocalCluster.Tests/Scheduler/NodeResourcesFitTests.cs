using LocalCluster.Scheduler;

namespace LocalCluster.Tests.Scheduler;

public class NodeResourcesFitTests
{
    // The LeastAllocated table of kubernetes pkg/scheduler/framework/plugins/noderesources/least_allocated_test.go
    // (TestLeastAllocatedScoringStrategy): capacities in whole cores and bytes; Req adds one container.
    public static TheoryData<string, PodBuilder, NodeBuilder[], PodBuilder[], long[]> LeastAllocatedCases => new()
    {
        {
            "nothing scheduled, nothing requested",
            Make.Pod(),
            [Make.Node("node1").Capacity("4000", "10000"), Make.Node("node2").Capacity("4000", "10000")],
            [],
            [100, 100]
        },
        {
            "nothing scheduled, resources requested, differently sized nodes",
            Make.Pod().Req("1000", "2000").Req("2000", "3000"),
            [Make.Node("node1").Capacity("4000", "10000"), Make.Node("node2").Capacity("6000", "10000")],
            [],
            [37, 50]
        },
        {
            "no resources requested, pods scheduled",
            Make.Pod(),
            [Make.Node("node1").Capacity("4000", "10000"), Make.Node("node2").Capacity("4000", "10000")],
            [Make.Pod("a").Node("node1"), Make.Pod("b").Node("node1"), Make.Pod("c").Node("node2"), Make.Pod("d").Node("node2")],
            [100, 100]
        },
        {
            "no resources requested, pods scheduled with resources",
            Make.Pod(),
            [Make.Node("node1").Capacity("10000", "20000"), Make.Node("node2").Capacity("10000", "20000")],
            [
                Make.Pod("a").Node("node1").Req("3000", "0"), Make.Pod("b").Node("node1").Req("3000", "0"),
                Make.Pod("c").Node("node2").Req("3000", "0"), Make.Pod("d").Node("node2").Req("3000", "5000"),
            ],
            [70, 57]
        },
        {
            "resources requested, pods scheduled with resources",
            Make.Pod().Req("1000", "2000").Req("2000", "3000"),
            [Make.Node("node1").Capacity("10000", "20000"), Make.Node("node2").Capacity("10000", "20000")],
            [Make.Pod("a").Node("node1").Req("3000", "0"), Make.Pod("b").Node("node2").Req("3000", "5000")],
            [57, 45]
        },
        {
            "resources requested, pods scheduled with resources, differently sized nodes",
            Make.Pod().Req("1000", "2000").Req("2000", "3000"),
            [Make.Node("node1").Capacity("10000", "20000"), Make.Node("node2").Capacity("10000", "50000")],
            [Make.Pod("a").Node("node1").Req("3000", "0"), Make.Pod("b").Node("node2").Req("3000", "5000")],
            [57, 60]
        },
        {
            "requested resources exceed node capacity",
            Make.Pod().Req("3000", "0"),
            [Make.Node("node1").Capacity("4000", "10000"), Make.Node("node2").Capacity("4000", "10000")],
            [Make.Pod("a").Node("node1").Req("3000", "0"), Make.Pod("b").Node("node2").Req("3000", "5000")],
            [50, 25]
        },
        {
            "zero node resources, pods scheduled with resources",
            Make.Pod(),
            [Make.Node("node1"), Make.Node("node2")],
            [Make.Pod("a").Node("node1").Req("3000", "0"), Make.Pod("b").Node("node2").Req("3000", "5000")],
            [0, 0]
        },
    };

    [Theory]
    [MemberData(nameof(LeastAllocatedCases))]
    public void LeastAllocatedScoresAsKubeScheduler(string name, PodBuilder pod, NodeBuilder[] nodes, PodBuilder[] existing, long[] expected)
    {
        var cluster = Make.Cluster(nodes, existing);
        var plugin = new NodeResourcesFitPlugin(pod.Obj());
        var scores = cluster.NodeInfos().Select(plugin.Score).ToArray();
        Assert.True(expected.SequenceEqual(scores), $"{name}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", scores)}]");
    }

    // After TestEnoughRequests in kubernetes pkg/scheduler/framework/plugins/noderesources/fit_test.go:
    // a node of 10m CPU, 20 bytes and 32 Pods, with Pods already using some of it.
    public static TheoryData<string, PodBuilder, PodBuilder[], string[]> FitCases => new()
    {
        { "no resources requested always fits", Make.Pod(), [Make.Pod("e").Node("n").Req("10m", "20")], [] },
        { "too many resources fails", Make.Pod().Req("1m", "1"), [Make.Pod("e").Node("n").Req("10m", "20")], ["Insufficient cpu", "Insufficient memory"] },
        { "one resource memory fits", Make.Pod().Req("1m", "1"), [Make.Pod("e").Node("n").Req("9m", "19")], [] },
        { "one resource cpu fails", Make.Pod().Req("2m", "1"), [Make.Pod("e").Node("n").Req("9m", "19")], ["Insufficient cpu"] },
        { "equal edge case", Make.Pod().Req("5m", "4"), [Make.Pod("e").Node("n").Req("5m", "16")], [] },
        { "cpu used up, memory free", Make.Pod().Req("1m", "1"), [Make.Pod("e").Node("n").Req("10m", "1")], ["Insufficient cpu"] },
    };

    [Theory]
    [MemberData(nameof(FitCases))]
    public void FilterNamesEveryInsufficientResource(string name, PodBuilder pod, PodBuilder[] existing, string[] reasons)
    {
        var node = Make.Node("n").Capacity("10m", "20", "32");
        var status = new NodeResourcesFitPlugin(pod.Obj()).Filter(Make.Info(node, existing));
        Assert.True(reasons.SequenceEqual(status?.Reasons ?? []), $"{name}: got [{string.Join(", ", status?.Reasons ?? [])}]");
        if (status is not null) Assert.Equal(RejectionCode.Unschedulable, status.Code);
    }

    [Fact]
    public void APodBeyondAllocatablePodsIsTooManyPods()
    {
        var node = Make.Node("n").Capacity("10", "20Gi", "1");
        var status = new NodeResourcesFitPlugin(Make.Pod().Obj()).Filter(Make.Info(node, Make.Pod("e").Node("n")));
        Assert.Equal(["Too many pods"], status?.Reasons);
    }

    [Fact]
    public void ContainersWithoutRequestsCountAsTheSchedulerDefaultsWhenScoring()
    {
        // 100m and 200Mi per container without requests (pkg/scheduler/util/pod_resources.go).
        var node = Make.Node("n").Capacity("1", "1000Mi");
        var info = Make.Info(node, Make.Pod("e").Node("n").Req(), Make.Pod("f").Node("n").Req());
        Assert.Equal(200, info.NonZeroRequested.MilliCpu);
        Assert.Equal(400L * 1024 * 1024, info.NonZeroRequested.Memory);
        Assert.Equal(0, info.Requested.MilliCpu);
        // cpu (1000 - 300) * 100 / 1000 = 70, memory (1000 - 600) * 100 / 1000 = 40: (70 + 40) / 2 = 55.
        Assert.Equal(55, new NodeResourcesFitPlugin(Make.Pod().Req().Obj()).Score(info));
    }
}
