using LocalCluster.ApiServer;
using LocalCluster.Kubelet;
using LocalCluster.Runtime;

// local-cluster: the parts of the one-machine cluster that hack/local-cluster.sh starts.
//   apiserver --state-dir DIR   the API server; writes DIR/kubeconfig once it serves
//   kubelet   --state-dir DIR [--node-name NAME ...]   one node: its Pods (network namespaces, runc containers), its Node
//   controller-manager --state-dir DIR [...]   Deployments, Endpoints, GC, nginx Ingress, scheduler, node lifecycle, disruption, HPA, metrics
//   images load|list --store DIR [FILE...]   the node's image store (OCI archives in)
return args switch
{
    ["apiserver", .. var rest] => await ApiServerCommand.RunAsync(rest),
    ["kubelet", .. var rest] => await KubeletCommand.RunAsync(rest),
    ["controller-manager", .. var rest] => await LocalCluster.ControllerManager.ControllerManagerCommand.RunAsync(rest),
    ["images", .. var rest] => await ImagesCommand.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: local-cluster apiserver|kubelet|controller-manager --state-dir DIR | local-cluster images load|list --store DIR [FILE...]");
    return 2;
}
