namespace LocalCluster.Scheduler;

/// <summary>Outcome codes of a filter (kube-scheduler <c>framework.Code</c>), those that reject a node.</summary>
internal enum RejectionCode
{
    /// <summary>The node does not fit now, and preempting Pods might make it fit.</summary>
    Unschedulable,

    /// <summary>The node does not fit, and preemption cannot change that.</summary>
    UnschedulableAndUnresolvable,
}

/// <summary>Why one node was rejected: the plugin that rejected it and its reasons (each counted in the FailedScheduling message).</summary>
/// <param name="Code">Whether preemption might help.</param>
/// <param name="Plugin">The rejecting plugin, e.g. <c>NodeResourcesFit</c>.</param>
/// <param name="Reasons">The reasons, e.g. <c>Insufficient cpu</c>, <c>Insufficient memory</c>.</param>
internal sealed record NodeStatus(RejectionCode Code, string Plugin, IReadOnlyList<string> Reasons)
{
    /// <summary>A status with one reason.</summary>
    public static NodeStatus Of(RejectionCode code, string plugin, string reason) => new(code, plugin, [reason]);
}
