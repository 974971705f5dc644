using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// NodeResourcesBalancedAllocation (kubernetes
/// <c>pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go</c>,
/// <c>balancedResourceScorer</c>): favours the node whose CPU and memory would be used in the most
/// equal shares once the Pod runs there: <c>(1 - |cpuFraction - memoryFraction| / 2) * 100</c>, each
/// fraction being (requests of the node's Pods + the Pod's) / allocatable, capped at 1, with the
/// requests as written (no defaults for missing ones). A Pod that requests neither CPU nor memory
/// skips this score (its PreScore returns Skip).
/// </summary>
internal sealed class BalancedAllocationPlugin(V1Pod pod) : IScorePlugin
{
    private readonly Resources _request = PodResources.Requests(pod);

    /// <inheritdoc/>
    public string Name => "NodeResourcesBalancedAllocation";

    /// <inheritdoc/>
    public int Weight => 1;

    /// <inheritdoc/>
    public bool PreScore(IReadOnlyList<NodeInfo> feasible) => _request.MilliCpu != 0 || _request.Memory != 0;

    /// <inheritdoc/>
    public long Score(NodeInfo node)
    {
        var fractions = new List<double>();
        foreach (var (requested, allocatable) in new[]
        {
            (node.Requested.MilliCpu + _request.MilliCpu, node.Allocatable.MilliCpu),
            (node.Requested.Memory + _request.Memory, node.Allocatable.Memory),
        })
        {
            if (allocatable == 0) continue;
            fractions.Add(Math.Min(1.0, (double)requested / allocatable));
        }
        var std = fractions.Count == 2 ? Math.Abs((fractions[0] - fractions[1]) / 2) : 0.0;
        return (long)((1 - std) * Scores.MaxNodeScore);
    }

    /// <inheritdoc/>
    public void Normalize(IDictionary<string, long> scores)
    {
    }
}
