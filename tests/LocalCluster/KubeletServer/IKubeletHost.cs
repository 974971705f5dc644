using k8s.Models;

namespace LocalCluster.KubeletServer;

/// <summary>
/// What the kubelet's server needs from the kubelet itself (pkg/kubelet/server/server.go
/// <c>HostInterface</c>, the parts used here): the Pods it runs, with the status it last computed
/// for them, and where it keeps their container logs.
/// </summary>
public interface IKubeletHost
{
    /// <summary>
    /// The Pod <paramref name="namespace"/>/<paramref name="name"/> bound to this node, with its latest
    /// status (container ids <c>runc://&lt;id&gt;</c>, states, restart counts), or null when this node
    /// does not run it (<c>GetPodByName</c>).
    /// </summary>
    V1Pod? GetPodByName(string @namespace, string name);

    /// <summary>
    /// The directory of the Pods' log directories (the kubelet's /var/log/pods):
    /// <c>&lt;root&gt;/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;n&gt;.log</c>, one file per
    /// instance of a container, numbered from 0 as it restarts.
    /// </summary>
    string PodLogsRoot { get; }
}
