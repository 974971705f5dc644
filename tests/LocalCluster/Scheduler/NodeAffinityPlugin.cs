using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// NodeAffinity (kubernetes <c>pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go</c>):
/// <c>Filter</c> rejects a node that fails the Pod's nodeSelector or required node affinity;
/// <c>Score</c> sums the weights of the preferred terms the node matches, normalized so the best
/// node scores 100 (<c>DefaultNormalizeScore</c>); a Pod without preferences skips scoring.
/// </summary>
internal sealed class NodeAffinityPlugin(V1Pod pod) : IFilterPlugin, IScorePlugin
{
    /// <summary>The rejection reason, as the plugin words it (<c>ErrReasonPod</c>).</summary>
    public const string ErrReasonPod = "node(s) didn't match Pod's node affinity/selector";

    /// <inheritdoc cref="IFilterPlugin.Name"/>
    public string Name => "NodeAffinity";

    /// <inheritdoc/>
    public int Weight => 2;

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node) =>
        NodeSelectors.MatchesRequired(pod, node.Node) ? null : NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, Name, ErrReasonPod);

    /// <inheritdoc/>
    public bool PreScore(IReadOnlyList<NodeInfo> feasible) => NodeSelectors.HasPreferred(pod);

    /// <inheritdoc/>
    public long Score(NodeInfo node) => NodeSelectors.PreferredWeight(pod, node.Node);

    /// <inheritdoc/>
    public void Normalize(IDictionary<string, long> scores) => Scores.DefaultNormalize(Scores.MaxNodeScore, reverse: false, scores);
}
