using System.Net;

namespace KubeApiFake;

/// <summary>What a cluster's API server does besides storing objects (see <see cref="EmulateCluster"/>).</summary>
public sealed partial class FakeKubeApiServerOptions
{
    /// <summary>The issuer (<c>iss</c>) of ServiceAccount tokens and the API server's audience, as kubeadm configures kube-apiserver.</summary>
    public const string DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local";

    /// <summary>
    /// Behave as a cluster's API server with the controllers Pods rely on: serve
    /// <see cref="KnownResources.ClusterKinds"/> (Pods with <c>log</c>, <c>exec</c> and <c>attach</c>
    /// proxied to the kubelet of the Pod's Node, Nodes, Endpoints, EndpointSlices); run the
    /// ServiceAccount admission plugin on Pod creation; keep a <c>default</c> ServiceAccount (the
    /// serviceaccounts controller) and, with <see cref="UseTls"/>, the ConfigMap
    /// <c>kube-root-ca.crt</c> (the root-ca-cert-publisher) in every namespace; keep the Service
    /// <c>default/kubernetes</c> with its Endpoints and EndpointSlice pointing at
    /// <see cref="AdvertiseAddress"/> and the serving port (the bootstrap controller). Default false.
    /// </summary>
    public bool EmulateCluster { get; set; }

    /// <summary>
    /// The address the API server advertises to Pods (kube-apiserver's <c>--advertise-address</c>):
    /// it also listens there (same port as on 127.0.0.1), the serving certificate names it, and the
    /// <c>kubernetes</c> Endpoints carry it. Null (default): 127.0.0.1, where it listens anyway.
    /// </summary>
    public IPAddress? AdvertiseAddress { get; set; }

    /// <summary>
    /// Keep a deleted Pod whose grace period is not 0 until it is deleted again with
    /// <c>gracePeriodSeconds: 0</c>, as a real API server does (the kubelet does so once the Pod's
    /// containers are stopped), and let the removal of its last finalizer delete it only then.
    /// Default false: a Pod goes as soon as it has no finalizers, whatever its grace period (its
    /// <c>deletionTimestamp</c> and <c>deletionGracePeriodSeconds</c> are set as on a real server
    /// either way). See <see cref="ResourceStore.DefaultTerminationGracePeriodSeconds"/>.
    /// </summary>
    public bool GracefulPodDeletion { get; set; }

    /// <summary>
    /// <c>iss</c> of the ServiceAccount tokens this server signs, and the audience it accepts tokens
    /// for (kube-apiserver's <c>--service-account-issuer</c>; <c>--api-audiences</c> defaults to it).
    /// </summary>
    public string ServiceAccountIssuer { get; set; } = DefaultServiceAccountIssuer;
}
