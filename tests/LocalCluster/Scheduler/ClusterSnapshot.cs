using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// What one scheduling decision reads: the cluster's Nodes and Pods (kube-scheduler's cache
/// snapshot, <c>pkg/scheduler/backend/cache/snapshot.go</c>), and, for the default topology spread
/// constraints, the Services and the Pods' controllers whose selectors pick the Pods to spread
/// (<c>pkg/scheduler/framework/plugins/helper/spread.go</c>, <c>DefaultSelector</c>).
/// </summary>
internal sealed record ClusterSnapshot
{
    /// <summary>Every Node, in a stable order (the order filters visit them).</summary>
    public required IReadOnlyList<V1Node> Nodes { get; init; }

    /// <summary>Every Pod; those with <c>spec.nodeName</c> that are neither Succeeded nor Failed occupy their node.</summary>
    public required IReadOnlyList<V1Pod> Pods { get; init; }

    /// <summary>Services: a Service whose selector matches a Pod adds its selector to the Pod's default spreading selector.</summary>
    public IReadOnlyList<V1Service> Services { get; init; } = [];

    /// <summary>
    /// Label selectors of the Pods' controllers by controller UID (a ReplicaSet's or StatefulSet's
    /// <c>spec.selector</c>; in the local cluster, whose Deployments own their Pods directly, the
    /// Deployment's). The controller named by a Pod's controller owner reference adds its selector
    /// to the Pod's default spreading selector.
    /// </summary>
    public IReadOnlyDictionary<string, V1LabelSelector> ControllerSelectors { get; init; } = new Dictionary<string, V1LabelSelector>();

    /// <summary>The node infos: each node with the non-terminal Pods bound to it.</summary>
    public IReadOnlyList<NodeInfo> NodeInfos()
    {
        var byNode = Pods
            .Where(p => !string.IsNullOrEmpty(p.Spec?.NodeName) && p.Status?.Phase is not ("Succeeded" or "Failed"))
            .ToLookup(p => p.Spec.NodeName, StringComparer.Ordinal);
        return [.. Nodes.Select(n => new NodeInfo(n, byNode[n.Metadata.Name]))];
    }

    /// <summary>The same cluster without <paramref name="removed"/> (what the preemption dry run evaluates).</summary>
    public ClusterSnapshot Without(IReadOnlySet<V1Pod> removed) => this with { Pods = [.. Pods.Where(p => !removed.Contains(p))] };
}
