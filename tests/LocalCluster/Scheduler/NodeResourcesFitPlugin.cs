using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// NodeResourcesFit (kubernetes <c>pkg/scheduler/framework/plugins/noderesources/fit.go</c>):
/// <c>Filter</c> (<c>fitsRequest</c>) rejects a node whose Pod count would exceed
/// <c>allocatable.pods</c> ("Too many pods") or whose allocatable CPU, memory or ephemeral storage
/// minus the requests of the Pods already there is less than the Pod requests ("Insufficient cpu",
/// "Insufficient memory", "Insufficient ephemeral-storage", all that apply); <c>Score</c> is the
/// default <c>LeastAllocated</c> strategy (<c>least_allocated.go</c>): for CPU and memory (weight 1
/// each, a resource the node has none of left out), <c>(allocatable - requested) * 100 /
/// allocatable</c> with requested the node's non-zero requests plus the Pod's, averaged.
/// </summary>
internal sealed class NodeResourcesFitPlugin(V1Pod pod) : IFilterPlugin, IScorePlugin
{
    private readonly Resources _request = PodResources.Requests(pod);
    private readonly Resources _nonZeroRequest = PodResources.NonZeroRequests(pod);

    /// <inheritdoc cref="IFilterPlugin.Name"/>
    public string Name => "NodeResourcesFit";

    /// <inheritdoc/>
    public int Weight => 1;

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node)
    {
        var reasons = new List<string>();
        if (node.Pods.Count + 1 > node.Allocatable.AllowedPods) reasons.Add("Too many pods");
        if (!_request.IsZero)
        {
            var free = node.Allocatable;
            var used = node.Requested;
            if (_request.MilliCpu > 0 && _request.MilliCpu > free.MilliCpu - used.MilliCpu) reasons.Add("Insufficient cpu");
            if (_request.Memory > 0 && _request.Memory > free.Memory - used.Memory) reasons.Add("Insufficient memory");
            if (_request.EphemeralStorage > 0 && _request.EphemeralStorage > free.EphemeralStorage - used.EphemeralStorage) reasons.Add("Insufficient ephemeral-storage");
        }
        return reasons.Count == 0 ? null : new NodeStatus(RejectionCode.Unschedulable, Name, reasons);
    }

    /// <inheritdoc/>
    public bool PreScore(IReadOnlyList<NodeInfo> feasible) => true;

    /// <inheritdoc/>
    public long Score(NodeInfo node)
    {
        long sum = 0, weights = 0;
        foreach (var (requested, allocatable) in new[]
        {
            (node.NonZeroRequested.MilliCpu + _nonZeroRequest.MilliCpu, node.Allocatable.MilliCpu),
            (node.NonZeroRequested.Memory + _nonZeroRequest.Memory, node.Allocatable.Memory),
        })
        {
            if (allocatable == 0) continue;
            sum += LeastRequestedScore(requested, allocatable);
            weights++;
        }
        return weights == 0 ? 0 : sum / weights;
    }

    /// <inheritdoc/>
    public void Normalize(IDictionary<string, long> scores)
    {
    }

    /// <summary><c>leastRequestedScore</c>: the unused share of the capacity on 0..100; 0 when over capacity.</summary>
    public static long LeastRequestedScore(long requested, long capacity) =>
        capacity == 0 || requested > capacity ? 0 : (capacity - requested) * Scores.MaxNodeScore / capacity;
}
