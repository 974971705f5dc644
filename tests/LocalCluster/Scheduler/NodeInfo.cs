using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// A node and the Pods bound to it, with the sums kube-scheduler keeps per node (kubernetes
/// <c>pkg/scheduler/framework/types.go</c>, <c>NodeInfo</c>): <see cref="Requested"/> (what the fit
/// filter subtracts from allocatable) and <see cref="NonZeroRequested"/> (what the scores use).
/// </summary>
internal sealed class NodeInfo
{
    /// <summary>Builds the node's info from the Pods bound to it.</summary>
    public NodeInfo(V1Node node, IEnumerable<V1Pod> pods)
    {
        Node = node;
        Pods = [.. pods];
        Allocatable = Resources.From(node.Status?.Allocatable);
        foreach (var p in Pods)
        {
            Requested += PodResources.Requests(p);
            NonZeroRequested += PodResources.NonZeroRequests(p);
        }
    }

    /// <summary>The node.</summary>
    public V1Node Node { get; }

    /// <summary>The node's name.</summary>
    public string Name => Node.Metadata.Name;

    /// <summary>The node's labels (never null).</summary>
    public IDictionary<string, string> Labels => Node.Metadata.Labels ?? new Dictionary<string, string>();

    /// <summary>Pods bound to the node that are not Succeeded or Failed (the scheduler's cache leaves terminal Pods out).</summary>
    public IReadOnlyList<V1Pod> Pods { get; }

    /// <summary><c>status.allocatable</c> (cpu, memory, ephemeral-storage, pods).</summary>
    public Resources Allocatable { get; }

    /// <summary>Sum of the requests of <see cref="Pods"/>.</summary>
    public Resources Requested { get; }

    /// <summary>Sum of the requests of <see cref="Pods"/>, 100m CPU and 200 MiB for containers that request none.</summary>
    public Resources NonZeroRequested { get; }

    /// <summary>The same node without <paramref name="removed"/> (the preemption dry run's view).</summary>
    public NodeInfo Without(IReadOnlySet<V1Pod> removed) => new(Node, Pods.Where(p => !removed.Contains(p)));
}
