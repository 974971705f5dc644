namespace LocalCluster.Kubelet;

/// <summary>
/// Where each node's Pods have their cgroups on this machine (every node of the local cluster is
/// on it): the first node, <c>local-cluster</c>, under <c>/local-cluster</c> (as before there were
/// several), every other node under <c>/local-cluster/&lt;node&gt;</c>; a Pod's cgroup is
/// <c>&lt;root&gt;/pod&lt;uid&gt;</c> and a container's <c>&lt;root&gt;/pod&lt;uid&gt;/&lt;container&gt;</c>
/// in each v1 hierarchy, as a kubelet with the cgroupfs driver nests them under
/// <c>kubepods/&lt;qos&gt;/pod&lt;uid&gt;</c>. The metrics server reads usage from the same paths.
/// </summary>
internal static class NodeCgroups
{
    /// <summary>The node's cgroup root, e.g. <c>/local-cluster</c> or <c>/local-cluster/local-cluster-m02</c>.</summary>
    public static string Root(string nodeName) =>
        nodeName == Kubelet.DefaultNodeName ? ContainerConfig.ClusterCgroup : $"{ContainerConfig.ClusterCgroup}/{nodeName}";

    /// <summary>The Pod's cgroup on <paramref name="nodeName"/>.</summary>
    public static string Pod(string nodeName, string uid) => $"{Root(nodeName)}/pod{uid}";
}
