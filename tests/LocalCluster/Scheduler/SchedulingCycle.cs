using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// One Pod's pass through the default profile's filter and score plugins over one snapshot, in the
/// profile's order (<c>pkg/scheduler/apis/config/v1/default_plugins.go</c>): filters NodeUnschedulable,
/// NodeName, TaintToleration, NodeAffinity, NodeResourcesFit, PodTopologySpread, the first to reject
/// a node deciding its status (<c>frameworkImpl.RunFilterPlugins</c>); scores TaintToleration (×3),
/// NodeAffinity (×2), NodeResourcesFit (×1), PodTopologySpread (×2), NodeResourcesBalancedAllocation (×1),
/// each normalized, weighted and summed (<c>frameworkImpl.RunScorePlugins</c>). Plugins the UserApi's
/// Pods never meet are left out: NodePorts, volume plugins, InterPodAffinity, ImageLocality.
/// </summary>
internal sealed class SchedulingCycle
{
    private readonly IReadOnlyList<IFilterPlugin> _filters;
    private readonly IReadOnlyList<IScorePlugin> _scores;

    /// <summary>Builds the plugins and their PreFilter state for <paramref name="pod"/>.</summary>
    public SchedulingCycle(V1Pod pod, ClusterSnapshot cluster)
    {
        Nodes = cluster.NodeInfos();
        var taints = new TaintTolerationPlugin(pod);
        var affinity = new NodeAffinityPlugin(pod);
        var fit = new NodeResourcesFitPlugin(pod);
        var spread = new PodTopologySpreadPlugin(pod, cluster, Nodes);
        _filters = [new NodeUnschedulablePlugin(pod), new NodeNamePlugin(pod), taints, affinity, fit, spread];
        _scores = [taints, affinity, fit, spread, new BalancedAllocationPlugin(pod)];
    }

    /// <summary>The snapshot's nodes with their Pods.</summary>
    public IReadOnlyList<NodeInfo> Nodes { get; }

    /// <summary>Null when the Pod fits the node, else the first rejecting plugin's status.</summary>
    public NodeStatus? Filter(NodeInfo node)
    {
        foreach (var plugin in _filters)
        {
            if (plugin.Filter(node) is { } status) return status;
        }
        return null;
    }

    /// <summary>
    /// The score of every feasible node per plugin (already normalized and weighted), by plugin name
    /// then node name; plugins that skip the Pod are absent.
    /// </summary>
    public Dictionary<string, Dictionary<string, long>> Score(IReadOnlyList<NodeInfo> feasible)
    {
        var result = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var plugin in _scores)
        {
            if (!plugin.PreScore(feasible)) continue;
            var scores = feasible.ToDictionary(n => n.Name, plugin.Score, StringComparer.Ordinal);
            plugin.Normalize(scores);
            foreach (var name in scores.Keys.ToList()) scores[name] *= plugin.Weight;
            result[plugin.Name] = scores;
        }
        return result;
    }
}
