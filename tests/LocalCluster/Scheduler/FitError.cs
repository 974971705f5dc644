using System.Globalization;

namespace LocalCluster.Scheduler;

/// <summary>
/// The message of a Pod that fits no node, composed as kube-scheduler composes it (kubernetes
/// <c>pkg/scheduler/framework/types.go</c>, <c>FitError.Error</c>): <c>0/N nodes are available:</c>,
/// then the reasons counted over the nodes, <c>"count reason"</c> sorted as strings and joined with
/// <c>", "</c>, ended by a full stop, then the PostFilter (preemption) message if any. Nodes a
/// diagnosis does not name get its "absent nodes" status.
/// </summary>
internal static class FitError
{
    /// <summary>The FitError text.</summary>
    /// <param name="allNodes">Number of nodes in the snapshot.</param>
    /// <param name="statuses">The rejected nodes' statuses by node name.</param>
    /// <param name="absentNodesReason">Reason for nodes missing from <paramref name="statuses"/>, or null.</param>
    /// <param name="postFilterMessage">The PostFilter plugins' message (e.g. <c>preemption: ...</c>), or null.</param>
    public static string Message(int allNodes, IReadOnlyDictionary<string, NodeStatus> statuses, string? absentNodesReason, string? postFilterMessage)
    {
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var status in statuses.Values)
        {
            foreach (var reason in status.Reasons) reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
        }
        if (statuses.Count < allNodes && absentNodesReason is not null)
        {
            reasons[absentNodesReason] = reasons.GetValueOrDefault(absentNodesReason) + allNodes - statuses.Count;
        }
        var message = $"0/{allNodes.ToString(CultureInfo.InvariantCulture)} nodes are available:";
        var histogram = reasons.Select(r => $"{r.Value.ToString(CultureInfo.InvariantCulture)} {r.Key}").OrderBy(s => s, StringComparer.Ordinal).ToList();
        if (histogram.Count > 0) message += $" {string.Join(", ", histogram)}.";
        if (!string.IsNullOrEmpty(postFilterMessage)) message += $" {postFilterMessage}";
        return message;
    }
}
