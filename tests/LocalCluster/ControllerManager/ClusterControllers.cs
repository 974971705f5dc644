using k8s;
using k8s.Models;
using LocalCluster.Ingress;
using LocalCluster.Kubelet;
using LocalCluster.Services;

namespace LocalCluster.ControllerManager;

/// <summary>
/// The cluster-wide controllers that the one-node kubelet used to run, now once per cluster as
/// kube-controller-manager runs them (and ingress-nginx beside it): shared caches (list+watch) of
/// Deployments, Pods, Services, Endpoints, Ingresses and Secrets, and one level-triggered loop that
/// runs, in order, the Deployment controller (Pods from templates, left unbound for the
/// scheduler), the release of deleted unscheduled Pods, the Endpoints controller, the nginx Ingress
/// controller and the garbage collector. Any cache change wakes the loop; it also runs every second.
/// </summary>
internal sealed class ClusterControllers : IControllerContext
{
    private readonly SemaphoreSlim _wake = new(0);
    private readonly DeploymentController _deployments;
    private readonly GarbageCollector _garbage;
    private readonly EndpointsController _endpoints;
    private readonly NginxController _nginx;

    /// <summary>Builds the caches and controllers (nothing runs until <see cref="RunAsync"/>).</summary>
    public ClusterControllers(IKubernetes client, NginxOptions nginx)
    {
        Client = client;
        ControllerEvents = new EventRecorder(client, "replicaset-controller", null);
        Deployments = new("deployments",
            async ct => { var l = await client.AppsV1.ListDeploymentForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.AppsV1.WatchListDeploymentForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        Pods = new("pods",
            async ct => { var l = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        Services = new("services",
            async ct => { var l = await client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        EndpointsCache = new("endpoints",
            async ct => { var l = await client.CoreV1.ListEndpointsForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListEndpointsForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        Ingresses = new("ingresses",
            async ct => { var l = await client.NetworkingV1.ListIngressForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.NetworkingV1.WatchListIngressForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        Secrets = new("secrets",
            async ct => { var l = await client.CoreV1.ListSecretForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListSecretForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        _deployments = new DeploymentController(this);
        _garbage = new GarbageCollector(this);
        _endpoints = new EndpointsController(this);
        _nginx = new NginxController(this, nginx);
    }

    /// <inheritdoc/>
    public IKubernetes Client { get; }

    /// <inheritdoc/>
    public EventRecorder ControllerEvents { get; }

    /// <inheritdoc/>
    public Informer<V1Deployment> Deployments { get; }

    /// <inheritdoc/>
    public Informer<V1Pod> Pods { get; }

    /// <inheritdoc/>
    public Informer<V1Service> Services { get; }

    /// <inheritdoc/>
    public Informer<V1Endpoints> EndpointsCache { get; }

    /// <inheritdoc/>
    public Informer<V1Ingress> Ingresses { get; }

    /// <inheritdoc/>
    public Informer<V1Secret> Secrets { get; }

    /// <inheritdoc/>
    public bool IsTerminating(V1Pod pod) => pod.Metadata.DeletionTimestamp is not null;

    /// <summary>Runs until cancelled; <paramref name="ready"/> is called once the caches are synced and nginx serves. Stops nginx at the end.</summary>
    public async Task RunAsync(Action ready, CancellationToken ct)
    {
        Task[] informers =
        [
            Deployments.RunAsync(ct), Pods.RunAsync(ct), Services.RunAsync(ct),
            EndpointsCache.RunAsync(ct), Ingresses.RunAsync(ct), Secrets.RunAsync(ct),
        ];
        await Task.WhenAll(Deployments.Synced, Pods.Synced, Services.Synced, EndpointsCache.Synced, Ingresses.Synced, Secrets.Synced).WaitAsync(ct);
        Log.Write("controllers: caches synced");
        await _nginx.StartAsync(ct);
        ready();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), ct);
                await Task.Delay(20, ct); // let a burst of events land before one pass
            }
            catch (OperationCanceledException)
            {
                break;
            }
            try
            {
                await _deployments.SyncAsync(ct);
                await ReleaseUnscheduledAsync(ct);
                await _endpoints.SyncAsync(ct);
                await _nginx.SyncAsync(ct);
                await _garbage.SyncAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.Write($"sync: {e.GetType().Name}: {e.Message}");
            }
        }
        await _nginx.StopAsync();
        try
        {
            await Task.WhenAll(informers);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Wakes the loop.</summary>
    public void Signal()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>
    /// A deleted Pod that no node runs (never scheduled) goes at once: kube-apiserver deletes an
    /// unscheduled Pod without a grace period (<c>pkg/registry/core/pod/strategy.go</c>,
    /// <c>CheckGracefulDeleteStrategy</c>: "if the pod is not scheduled, delete immediately"), so
    /// the kubelet's finalizer, which stands for that grace period here, is removed for it.
    /// </summary>
    private async Task ReleaseUnscheduledAsync(CancellationToken ct)
    {
        foreach (var pod in Pods.Snapshot().Where(p => p.Metadata.DeletionTimestamp is not null && string.IsNullOrEmpty(p.Spec?.NodeName)
            && p.Metadata.Finalizers?.Contains(Kubelet.Kubelet.PodFinalizer) == true))
        {
            var rest = pod.Metadata.Finalizers.Where(f => f != Kubelet.Kubelet.PodFinalizer).ToList();
            var patch = new V1Patch(
                KubernetesJson.Serialize(new { metadata = new { finalizers = rest, resourceVersion = pod.Metadata.ResourceVersion } }),
                V1Patch.PatchType.MergePatch);
            try
            {
                await Client.CoreV1.PatchNamespacedPodAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
                Log.Write($"pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}: deleted (never scheduled)");
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict)
            {
            }
        }
    }
}
