using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// NodeName (kubernetes <c>pkg/scheduler/framework/plugins/nodename/node_name.go</c>, <c>Filter</c>):
/// a Pod that names a node (<c>spec.nodeName</c>) fits only that node.
/// </summary>
internal sealed class NodeNamePlugin(V1Pod pod) : IFilterPlugin
{
    /// <summary>The rejection reason, as the plugin words it.</summary>
    public const string ErrReason = "node(s) didn't match the requested node name";

    /// <inheritdoc/>
    public string Name => "NodeName";

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node) =>
        !string.IsNullOrEmpty(pod.Spec?.NodeName) && pod.Spec.NodeName != node.Name
            ? NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, Name, ErrReason)
            : null;
}
