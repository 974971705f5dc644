using LocalCluster.ApiServer;
using LocalCluster.Kubelet;

// local-cluster: the parts of the one-machine cluster that hack/local-cluster.sh starts.
//   apiserver --state-dir DIR   the API server; writes DIR/kubeconfig once it serves
//   kubelet   --state-dir DIR   Deployments -> Pods (network namespaces, processes), Services, Ingress (nginx)
return args switch
{
    ["apiserver", .. var rest] => await ApiServerCommand.RunAsync(rest),
    ["kubelet", .. var rest] => await KubeletCommand.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: local-cluster apiserver|kubelet --state-dir DIR");
    return 2;
}
