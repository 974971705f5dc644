using k8s;
using k8s.Models;
using LocalCluster.Kubelet;

namespace LocalCluster.ControllerManager;

/// <summary>
/// What the cluster-wide controllers of <c>local-cluster controller-manager</c> share (the
/// Deployment, Endpoints, garbage collection and nginx Ingress controllers): the administrator's
/// client, one set of list+watch caches (kube-controller-manager's shared informers) and the
/// Deployment controller's event recorder.
/// </summary>
internal interface IControllerContext
{
    /// <summary>The controllers' client (the administrator's kubeconfig).</summary>
    IKubernetes Client { get; }

    /// <summary>The Deployment controller's Events (source <c>replicaset-controller</c>, as a cluster's ReplicaSet controller records Pod creations).</summary>
    EventRecorder ControllerEvents { get; }

    /// <summary>Deployments of every namespace.</summary>
    Informer<V1Deployment> Deployments { get; }

    /// <summary>Pods of every namespace and node.</summary>
    Informer<V1Pod> Pods { get; }

    /// <summary>Services of every namespace.</summary>
    Informer<V1Service> Services { get; }

    /// <summary>Endpoints of every namespace.</summary>
    Informer<V1Endpoints> EndpointsCache { get; }

    /// <summary>Ingresses of every namespace.</summary>
    Informer<V1Ingress> Ingresses { get; }

    /// <summary>Secrets of every namespace (TLS of the Ingresses, garbage collection).</summary>
    Informer<V1Secret> Secrets { get; }

    /// <summary>True when the Pod is being deleted: it counts for no Deployment and no Service.</summary>
    bool IsTerminating(V1Pod pod);
}
