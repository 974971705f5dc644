using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// TaintToleration (kubernetes <c>pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go</c>):
/// <c>Filter</c> rejects a node with a NoSchedule or NoExecute taint the Pod does not tolerate,
/// naming the first such taint; <c>Score</c> counts the node's PreferNoSchedule taints that the
/// Pod's tolerations (those with effect PreferNoSchedule or none) do not tolerate, and
/// <c>NormalizeScore</c> reverses the counts, so the fewest intolerable taints scores 100.
/// </summary>
internal sealed class TaintTolerationPlugin(V1Pod pod) : IFilterPlugin, IScorePlugin
{
    private readonly List<V1Toleration> _preferNoSchedule =
        [.. (pod.Spec?.Tolerations ?? []).Where(t => string.IsNullOrEmpty(t.Effect) || t.Effect == "PreferNoSchedule")];

    /// <inheritdoc cref="IFilterPlugin.Name"/>
    public string Name => "TaintToleration";

    /// <inheritdoc/>
    public int Weight => 3;

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node) =>
        Taints.FirstUntolerated(node.Node.Spec?.Taints, pod.Spec?.Tolerations, Taints.DoNotSchedule) is { } taint
            ? NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, Name, $"node(s) had untolerated taint {{{taint.Key}: {taint.Value}}}")
            : null;

    /// <inheritdoc/>
    public bool PreScore(IReadOnlyList<NodeInfo> feasible) => true;

    /// <inheritdoc/>
    public long Score(NodeInfo node) =>
        (node.Node.Spec?.Taints ?? []).Count(t => t.Effect == "PreferNoSchedule" && !Taints.Tolerated(_preferNoSchedule, t));

    /// <inheritdoc/>
    public void Normalize(IDictionary<string, long> scores) => Scores.DefaultNormalize(Scores.MaxNodeScore, reverse: true, scores);
}
