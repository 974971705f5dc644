using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// NodeUnschedulable (kubernetes <c>pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go</c>,
/// <c>Filter</c>): a cordoned node (<c>spec.unschedulable</c>) takes only Pods that tolerate the
/// <c>node.kubernetes.io/unschedulable:NoSchedule</c> taint.
/// </summary>
internal sealed class NodeUnschedulablePlugin(V1Pod pod) : IFilterPlugin
{
    /// <summary>The rejection reason, as the plugin words it.</summary>
    public const string ErrReasonUnschedulable = "node(s) were unschedulable";

    private static readonly V1Taint UnschedulableTaint = new() { Key = Taints.Unschedulable, Effect = "NoSchedule" };

    /// <inheritdoc/>
    public string Name => "NodeUnschedulable";

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node) =>
        node.Node.Spec?.Unschedulable == true && !Taints.Tolerated(pod.Spec?.Tolerations, UnschedulableTaint)
            ? NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, Name, ErrReasonUnschedulable)
            : null;
}
