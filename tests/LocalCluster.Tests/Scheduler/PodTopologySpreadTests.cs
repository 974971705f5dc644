using k8s.Models;
using LocalCluster.Scheduler;

namespace LocalCluster.Tests.Scheduler;

public class PodTopologySpreadTests
{
    private const string Hard = "DoNotSchedule";
    private const string Soft = "ScheduleAnyway";

    private static NodeBuilder[] FourNodes() =>
    [
        Make.Node("node-a").Label("zone", "zone1").Label("node", "node-a"),
        Make.Node("node-b").Label("zone", "zone1").Label("node", "node-b"),
        Make.Node("node-x").Label("zone", "zone2").Label("node", "node-x"),
        Make.Node("node-y").Label("zone", "zone2").Label("node", "node-y"),
    ];

    private static PodBuilder[] Spread2103() =>
    [
        Make.Pod("p-a1").Node("node-a").Label("foo", ""), Make.Pod("p-a2").Node("node-a").Label("foo", ""),
        Make.Pod("p-b1").Node("node-b").Label("foo", ""),
        Make.Pod("p-y1").Node("node-y").Label("foo", ""), Make.Pod("p-y2").Node("node-y").Label("foo", ""), Make.Pod("p-y3").Node("node-y").Label("foo", ""),
    ];

    // The table of TestSingleConstraint and TestMultipleConstraints in kubernetes
    // pkg/scheduler/framework/plugins/podtopologyspread/filtering_test.go; "ok" fits, "no" is
    // Unschedulable, "unresolvable" is UnschedulableAndUnresolvable.
    public static TheoryData<string, PodBuilder, NodeBuilder[], PodBuilder[], string[]> FilterCases => new()
    {
        {
            "no existing pods",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo")), FourNodes(), [],
            ["ok", "ok", "ok", "ok"]
        },
        {
            "no existing pods, incoming pod doesn't match itself",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("bar")), FourNodes(), [],
            ["ok", "ok", "ok", "ok"]
        },
        {
            "existing pods in a different namespace do not count",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo")), FourNodes(),
            [
                Make.Pod("p-a1", "ns1").Node("node-a").Label("foo", ""), Make.Pod("p-b1", "ns2").Node("node-a").Label("foo", ""),
                Make.Pod("p-x1").Node("node-x").Label("foo", ""), Make.Pod("p-y1").Node("node-y").Label("foo", ""),
            ],
            ["ok", "ok", "no", "no"]
        },
        {
            "pods spread across zones as 3/3, all nodes fit",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo")), FourNodes(), Spread2103(),
            ["ok", "ok", "ok", "ok"]
        },
        {
            "pods spread across nodes as 2/1/0/3, only node-x fits",
            Make.Pod().Label("foo", "").Spread(1, "node", Hard, Terms.Exists("foo")), FourNodes(), Spread2103(),
            ["no", "no", "ok", "no"]
        },
        {
            "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
            Make.Pod().Label("foo", "").Spread(2, "node", Hard, Terms.Exists("foo")), FourNodes(), Spread2103(),
            ["no", "ok", "ok", "no"]
        },
        {
            "pods spread across nodes as 2/1/0/3, but pod doesn't match itself",
            Make.Pod().Label("bar", "").Spread(1, "node", Hard, Terms.Exists("foo")), FourNodes(), Spread2103(),
            ["no", "ok", "ok", "no"]
        },
        {
            "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
            Make.Pod().Label("foo", "").RequiredAffinity(Terms.Expr("node", "In", "node-a", "node-y")).Spread(1, "node", Hard, Terms.Exists("foo")),
            FourNodes(), Spread2103(),
            ["ok", "ok", "ok", "no"]
        },
        {
            "two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo")).Spread(1, "node", Hard, Terms.Exists("foo")),
            FourNodes(), Spread2103(),
            ["no", "no", "ok", "no"]
        },
        {
            "two Constraints on zone and node, spreads = [3/4, 2/1/0/4]",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo")).Spread(1, "node", Hard, Terms.Exists("foo")),
            FourNodes(), [.. Spread2103(), Make.Pod("p-y4").Node("node-y").Label("foo", "")],
            ["no", "no", "no", "no"]
        },
        {
            "pod cannot be scheduled as all nodes don't have label 'rack'",
            Make.Pod().Label("foo", "").Spread(1, "rack", Hard, Terms.Exists("foo")), FourNodes(), [],
            ["unresolvable", "unresolvable", "unresolvable", "unresolvable"]
        },
        {
            "terminating Pods should be excluded",
            Make.Pod().Label("foo", "").Spread(1, "node", Hard, Terms.Exists("foo")), FourNodes(),
            [Make.Pod("p-a").Node("node-a").Label("foo", "").Terminating(), Make.Pod("p-b").Node("node-b").Label("foo", "")],
            ["ok", "no", "ok", "ok"]
        },
        {
            // minDomains (TestMinDomains): 2 domains of 3 required, so the global minimum is 0 and a
            // zone that already has 1 matching Pod is full at maxSkew 1.
            "minDomains greater than the number of domains makes the global minimum 0",
            Make.Pod().Label("foo", "").Spread(1, "zone", Hard, Terms.Exists("foo"), minDomains: 3), FourNodes(),
            [Make.Pod("p-a1").Node("node-a").Label("foo", ""), Make.Pod("p-x1").Node("node-x").Label("foo", "")],
            ["no", "no", "no", "no"]
        },
    };

    [Theory]
    [MemberData(nameof(FilterCases))]
    public void Filter(string name, PodBuilder pod, NodeBuilder[] nodes, PodBuilder[] existing, string[] expected)
    {
        var cluster = Make.Cluster(nodes, existing);
        var infos = cluster.NodeInfos();
        var plugin = new PodTopologySpreadPlugin(pod.Obj(), cluster, infos);
        var got = infos.Select(n => plugin.Filter(n) switch
        {
            null => "ok",
            { Code: RejectionCode.Unschedulable } => "no",
            _ => "unresolvable",
        }).ToArray();
        Assert.True(expected.SequenceEqual(got), $"{name}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", got)}]");
    }

    [Fact]
    public void AMissingTopologyLabelIsTheUnresolvableReason()
    {
        var pod = Make.Pod().Label("foo", "").Spread(1, "rack", Hard, Terms.Exists("foo"));
        var cluster = Make.Cluster([Make.Node("n")]);
        var status = new PodTopologySpreadPlugin(pod.Obj(), cluster, cluster.NodeInfos()).Filter(cluster.NodeInfos()[0]);
        Assert.Equal("node(s) didn't match pod topology spread constraints (missing required label)", status?.Reasons.Single());
    }

    [Fact]
    public void ScheduleAnywayScoresFewerMatchingPodsHigher()
    {
        // One soft hostname constraint, 2/1/0 matching Pods: raw scores count·log(3+2) + maxSkew-1 =
        // 3, 2, 0 (rounded), normalized 100·(max+min-score)/max = 0, 33, 100.
        var nodes = new[]
        {
            Make.Node("a").Label("kubernetes.io/hostname", "a"), Make.Node("b").Label("kubernetes.io/hostname", "b"),
            Make.Node("c").Label("kubernetes.io/hostname", "c"),
        };
        var existing = new[] { Make.Pod("a1").Node("a").Label("foo", ""), Make.Pod("a2").Node("a").Label("foo", ""), Make.Pod("b1").Node("b").Label("foo", "") };
        var pod = Make.Pod().Label("foo", "").Spread(1, "kubernetes.io/hostname", Soft, Terms.Exists("foo"));
        var cluster = Make.Cluster(nodes, existing);
        var infos = cluster.NodeInfos();
        var plugin = new PodTopologySpreadPlugin(pod.Obj(), cluster, infos);
        Assert.True(plugin.PreScore(infos));
        var scores = infos.ToDictionary(n => n.Name, plugin.Score);
        Assert.Equal([3, 2, 0], [scores["a"], scores["b"], scores["c"]]);
        plugin.Normalize(scores);
        Assert.Equal([0, 33, 100], [scores["a"], scores["b"], scores["c"]]);
    }

    [Fact]
    public void SystemDefaultsSpreadByTheServiceSelectorAndIgnoreAMissingZone()
    {
        // A Pod without constraints gets the system defaults (hostname maxSkew 3, zone maxSkew 5)
        // with the selector of the Service that selects it; nodes without a zone label still score.
        var nodes = new[]
        {
            Make.Node("a").Label("kubernetes.io/hostname", "a"), Make.Node("b").Label("kubernetes.io/hostname", "b"),
        };
        var existing = new[] { Make.Pod("a1").Node("a").Label("app", "web"), Make.Pod("a2").Node("a").Label("app", "web") };
        var service = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
            Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "web" } },
        };
        var cluster = Make.Cluster(nodes, existing) with { Services = [service] };
        var pod = Make.Pod().Label("app", "web").Obj();
        var infos = cluster.NodeInfos();
        var plugin = new PodTopologySpreadPlugin(pod, cluster, infos);
        Assert.True(plugin.PreScore(infos));
        var scores = infos.ToDictionary(n => n.Name, plugin.Score);
        // a: 2·log(4) + 2 = 4.77 -> 5; b: 0 + 2 = 2.
        Assert.Equal([5, 2], [scores["a"], scores["b"]]);
        plugin.Normalize(scores);
        Assert.Equal([40, 100], [scores["a"], scores["b"]]);

        var unselected = new PodTopologySpreadPlugin(Make.Pod().Label("app", "other").Obj(), cluster, infos);
        Assert.False(unselected.PreScore(infos));
    }
}
