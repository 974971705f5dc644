using LocalCluster.Scheduler;

namespace LocalCluster.Tests.Scheduler;

public class TaintAndAffinityTests
{
    // After TestTaintTolerationFilter in kubernetes pkg/scheduler/framework/plugins/tainttoleration/taint_toleration_test.go.
    public static TheoryData<string, PodBuilder, NodeBuilder, string?> TaintFilterCases => new()
    {
        {
            "A pod having no tolerations can't be scheduled onto a node with nonempty taints",
            Make.Pod(), Make.Node("n").Taint("dedicated", "user1", "NoSchedule"),
            "node(s) had untolerated taint {dedicated: user1}"
        },
        {
            "A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
            Make.Pod().Toleration("dedicated", "Equal", "user1", "NoSchedule"), Make.Node("n").Taint("dedicated", "user1", "NoSchedule"),
            null
        },
        {
            "A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
            Make.Pod().Toleration("dedicated", "Equal", "user2", "NoSchedule"), Make.Node("n").Taint("dedicated", "user1", "NoSchedule"),
            "node(s) had untolerated taint {dedicated: user1}"
        },
        {
            "A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on the node",
            Make.Pod().Toleration("foo", "Exists", null, "NoSchedule"), Make.Node("n").Taint("foo", "bar", "NoSchedule"),
            null
        },
        {
            "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, pod can be scheduled onto the node",
            Make.Pod().Toleration("dedicated", "Equal", "user2", "NoSchedule").Toleration("foo", "Exists", null, "NoSchedule"),
            Make.Node("n").Taint("dedicated", "user2", "NoSchedule").Taint("foo", "bar", "NoSchedule"),
            null
        },
        {
            "A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't match, can't be scheduled onto the node",
            Make.Pod().Toleration("foo", "Equal", "bar", "PreferNoSchedule"), Make.Node("n").Taint("foo", "bar", "NoSchedule"),
            "node(s) had untolerated taint {foo: bar}"
        },
        {
            "The pod has a toleration that keys and values match the taint on the node, the effect of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
            Make.Pod().Toleration("foo", "Equal", "bar", null), Make.Node("n").Taint("foo", "bar", "NoSchedule"),
            null
        },
        {
            "The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
            Make.Pod().Toleration("dedicated", "Equal", "user2", "NoSchedule"), Make.Node("n").Taint("dedicated", "user1", "PreferNoSchedule"),
            null
        },
        {
            "A NoExecute taint keeps an intolerant Pod off as well",
            Make.Pod(), Make.Node("n").Taint("node.kubernetes.io/not-ready", "", "NoExecute"),
            "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
        },
    };

    [Theory]
    [MemberData(nameof(TaintFilterCases))]
    public void TaintFilter(string name, PodBuilder pod, NodeBuilder node, string? reason)
    {
        var status = new TaintTolerationPlugin(pod.Obj()).Filter(Make.Info(node));
        Assert.True(reason == status?.Reasons.Single(), $"{name}: got {status?.Reasons.Single() ?? "fit"}");
        if (status is not null) Assert.Equal(RejectionCode.UnschedulableAndUnresolvable, status.Code);
    }

    [Fact]
    public void PreferNoScheduleTaintsScoreByHowManyAreNotTolerated()
    {
        // TestTaintTolerationScore "the more intolerable taints a node has, the lower score it gets".
        var pod = Make.Pod().Toleration("foo", "Equal", "bar", "PreferNoSchedule");
        var nodes = new[]
        {
            Make.Node("nodeA"),
            Make.Node("nodeB").Taint("cpu-type", "arm64", "PreferNoSchedule"),
            Make.Node("nodeC").Taint("cpu-type", "arm64", "PreferNoSchedule").Taint("disk-type", "ssd", "PreferNoSchedule"),
        };
        var plugin = new TaintTolerationPlugin(pod.Obj());
        var scores = nodes.ToDictionary(n => n.Obj().Metadata.Name, n => plugin.Score(Make.Info(n)));
        plugin.Normalize(scores);
        Assert.Equal([100, 50, 0], [scores["nodeA"], scores["nodeB"], scores["nodeC"]]);
    }

    // After TestNodeAffinity in kubernetes pkg/scheduler/framework/plugins/nodeaffinity/node_affinity_test.go.
    public static TheoryData<string, PodBuilder, bool> AffinityCases => new()
    {
        { "no selector", Make.Pod(), true },
        { "missing labels", Make.Pod().NodeSelector("zone", "a"), false },
        { "same labels", Make.Pod().NodeSelector("foo", "bar"), true },
        { "node labels are superset", Make.Pod().NodeSelector("foo", "bar"), true },
        { "node labels are subset", Make.Pod().NodeSelector("foo", "bar").NodeSelector("baz", "blah"), false },
        { "In matches", Make.Pod().RequiredAffinity(Terms.Expr("foo", "In", "bar", "value2")), true },
        { "In fails", Make.Pod().RequiredAffinity(Terms.Expr("foo", "In", "value1", "value2")), false },
        { "NotIn matches an absent label too", Make.Pod().RequiredAffinity(Terms.Expr("absent", "NotIn", "0206")), true },
        { "NotIn fails", Make.Pod().RequiredAffinity(Terms.Expr("foo", "NotIn", "bar")), false },
        { "Exists", Make.Pod().RequiredAffinity(Terms.Expr("foo", "Exists")), true },
        { "DoesNotExist", Make.Pod().RequiredAffinity(Terms.Expr("foo", "DoesNotExist")), false },
        { "Gt matches a larger number", Make.Pod().RequiredAffinity(Terms.Expr("kernel-version", "Gt", "0204")), true },
        { "Lt fails a larger number", Make.Pod().RequiredAffinity(Terms.Expr("kernel-version", "Lt", "0204")), false },
        { "Gt with a non-number label fails", Make.Pod().RequiredAffinity(Terms.Expr("foo", "Gt", "1")), false },
        { "Gt with two values is invalid and matches nothing", Make.Pod().RequiredAffinity(Terms.Expr("kernel-version", "Gt", "1", "2")), false },
        { "an empty term matches nothing", Make.Pod().RequiredAffinity(new k8s.Models.V1NodeSelectorTerm()), false },
        { "terms are ORed", Make.Pod().RequiredAffinity(Terms.Expr("foo", "In", "nope"), Terms.Expr("foo", "In", "bar")), true },
        { "nodeSelector and affinity must both hold", Make.Pod().NodeSelector("foo", "other").RequiredAffinity(Terms.Expr("foo", "Exists")), false },
        { "matchFields metadata.name In", Make.Pod().RequiredAffinity(Terms.Field("In", "node1")), true },
        { "matchFields metadata.name NotIn", Make.Pod().RequiredAffinity(Terms.Field("NotIn", "node1")), false },
    };

    [Theory]
    [MemberData(nameof(AffinityCases))]
    public void RequiredNodeAffinity(string name, PodBuilder pod, bool fits)
    {
        var node = Make.Node("node1").Label("foo", "bar").Label("kernel-version", "0206");
        if (name == "node labels are superset") node.Label("baz", "blah");
        var status = new NodeAffinityPlugin(pod.Obj()).Filter(Make.Info(node));
        Assert.True(fits == status is null, $"{name}: expected {(fits ? "fit" : "no fit")}");
        if (status is not null) Assert.Equal("node(s) didn't match Pod's node affinity/selector", status.Reasons.Single());
    }

    [Fact]
    public void PreferredTermsScoreTheirWeightsNormalized()
    {
        // TestNodeAffinityPriority "only machine1 matches the preferred scheduling requirements of pod":
        // weights summed per node, then scaled so the best is 100.
        var pod = Make.Pod()
            .PreferredAffinity(2, Terms.Expr("foo", "In", "bar"))
            .PreferredAffinity(4, Terms.Expr("key", "In", "value"))
            .PreferredAffinity(5, Terms.Expr("az", "In", "az1"));
        var nodes = new[] { Make.Node("m1").Label("foo", "bar"), Make.Node("m2").Label("key", "value").Label("az", "az1"), Make.Node("m3") };
        var plugin = new NodeAffinityPlugin(pod.Obj());
        var scores = nodes.ToDictionary(n => n.Obj().Metadata.Name, n => plugin.Score(Make.Info(n)));
        plugin.Normalize(scores);
        Assert.Equal([22, 100, 0], [scores["m1"], scores["m2"], scores["m3"]]);
    }

    [Fact]
    public void ACordonedNodeTakesOnlyPodsThatTolerateUnschedulable()
    {
        var node = Make.Node("n").Unschedulable();
        var status = new NodeUnschedulablePlugin(Make.Pod().Obj()).Filter(Make.Info(node));
        Assert.Equal("node(s) were unschedulable", status?.Reasons.Single());
        Assert.Equal(RejectionCode.UnschedulableAndUnresolvable, status?.Code);
        var tolerant = Make.Pod().Toleration("node.kubernetes.io/unschedulable", "Exists", null, "NoSchedule");
        Assert.Null(new NodeUnschedulablePlugin(tolerant.Obj()).Filter(Make.Info(node)));
    }

    [Fact]
    public void APodNamingANodeFitsOnlyThatNode()
    {
        var plugin = new NodeNamePlugin(Make.Pod().Node("a").Obj());
        Assert.Null(plugin.Filter(Make.Info(Make.Node("a"))));
        Assert.Equal("node(s) didn't match the requested node name", plugin.Filter(Make.Info(Make.Node("b")))?.Reasons.Single());
    }
}
