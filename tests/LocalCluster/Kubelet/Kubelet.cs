using k8s;
using k8s.Models;
using LocalCluster.Ingress;
using LocalCluster.Runtime;
using LocalCluster.Services;

namespace LocalCluster.Kubelet;

/// <summary>
/// The node: caches of the kinds it reads (list+watch), and one level-triggered loop that runs, in
/// order, the Deployment controller (Pods from templates), the Pods of this node (workers), their
/// status, the Endpoints controller, the nginx Ingress controller and the garbage collector. Any
/// cache change or status change wakes the loop; it also runs every second.
/// </summary>
internal sealed class Kubelet
{
    /// <summary>Finalizer on the Pods this node runs: deletion waits until the containers, volumes, cgroups and the namespace are gone.</summary>
    public const string PodFinalizer = "local-cluster.userapi.example.com/kubelet";

    /// <summary>The node's name (spec.nodeName of its Pods).</summary>
    public const string NodeName = "local-cluster";

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, PodWorker> _workers = [];
    private readonly Dictionary<string, string> _writtenStatus = [];
    private readonly DeploymentController _deployments;
    private readonly GarbageCollector _garbage;
    private readonly EndpointsController _endpoints;
    private readonly NginxController _nginx;

    public Kubelet(IKubernetes client, string stateDir, ImageStore images, PodNetwork network, NginxOptions nginx)
    {
        Client = client;
        StateDir = stateDir;
        Images = images;
        Runc = new Runc(Path.Combine(stateDir, "runc"));
        Network = network;
        Events = new EventRecorder(client, "kubelet", NodeName);
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

    public IKubernetes Client { get; }

    public string StateDir { get; }

    /// <summary>The node's image store.</summary>
    public ImageStore Images { get; }

    /// <summary>runc with its state in &lt;state&gt;/runc.</summary>
    public Runc Runc { get; }

    public PodNetwork Network { get; }

    public EventRecorder Events { get; }

    public Informer<V1Deployment> Deployments { get; }

    public Informer<V1Pod> Pods { get; }

    public Informer<V1Service> Services { get; }

    public Informer<V1Endpoints> EndpointsCache { get; }

    public Informer<V1Ingress> Ingresses { get; }

    public Informer<V1Secret> Secrets { get; }

    /// <summary>Wakes the loop.</summary>
    public void Signal()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    /// <summary>True when the Pod is being deleted or its worker is stopping: it counts for no Deployment and no Service.</summary>
    public bool IsTerminating(V1Pod pod)
    {
        lock (_workers) return pod.Metadata.DeletionTimestamp is not null || (_workers.TryGetValue(pod.Metadata.Uid ?? "", out var w) && w.Terminating);
    }

    /// <summary>Runs until cancelled, then stops every Pod and nginx.</summary>
    public async Task RunAsync(Action ready, CancellationToken ct)
    {
        Task[] informers =
        [
            Deployments.RunAsync(ct), Pods.RunAsync(ct), Services.RunAsync(ct),
            EndpointsCache.RunAsync(ct), Ingresses.RunAsync(ct), Secrets.RunAsync(ct),
        ];
        await Task.WhenAll(Deployments.Synced, Pods.Synced, Services.Synced, EndpointsCache.Synced, Ingresses.Synced, Secrets.Synced).WaitAsync(ct);
        Log.Write("kubelet: caches synced");
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
                await SyncPodsAsync(ct);
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

        Log.Write("kubelet: stopping every Pod");
        List<PodWorker> workers;
        lock (_workers) workers = [.. _workers.Values];
        await Task.WhenAll(workers.Select(w => w.StopAsync(TimeSpan.Zero)));
        await _nginx.StopAsync();
        try
        {
            await Task.WhenAll(informers);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Starts workers for new Pods, stops those of deleted ones, releases finalizers, writes status.</summary>
    private async Task SyncPodsAsync(CancellationToken ct)
    {
        var pods = Pods.Snapshot();
        var live = new HashSet<string>(pods.Select(p => p.Metadata.Uid ?? ""));
        foreach (var pod in pods)
        {
            var uid = pod.Metadata.Uid ?? "";
            PodWorker? worker;
            lock (_workers) _workers.TryGetValue(uid, out worker);
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                if (worker is null)
                {
                    await ReleaseFinalizerAsync(pod, ct);
                    continue;
                }
                var stopping = worker.StopAsync(TimeSpan.FromSeconds(1));
                if (stopping.IsCompleted)
                {
                    lock (_workers) _workers.Remove(uid);
                    _writtenStatus.Remove(uid);
                    await ReleaseFinalizerAsync(pod, ct);
                }
                else
                {
                    _ = stopping.ContinueWith(_ => Signal(), TaskScheduler.Default);
                }
                continue;
            }
            if (worker is null)
            {
                pod.Kind ??= V1Pod.KubeKind;
                pod.ApiVersion ??= V1Pod.KubeApiVersion;
                worker = new PodWorker(this, pod);
                lock (_workers) _workers[uid] = worker;
                Log.Write($"pod {worker.Key}: starting ({string.Join(", ", pod.Spec.Containers.Select(c => $"{c.Name}={c.Image}"))})");
                Events.Record(pod, "Normal", "Scheduled", $"Successfully assigned {worker.Key} to {NodeName}");
                worker.Start();
            }
            await WriteStatusAsync(pod, worker, ct);
        }

        // Pods deleted outright (no finalizer, e.g. a Pod made by hand): stop their workers.
        List<(string Uid, PodWorker Worker)> gone;
        lock (_workers) gone = [.. _workers.Where(w => !live.Contains(w.Key)).Select(w => (w.Key, w.Value))];
        foreach (var (uid, worker) in gone)
        {
            var stopping = worker.StopAsync(TimeSpan.FromSeconds(1));
            if (stopping.IsCompleted)
            {
                lock (_workers) _workers.Remove(uid);
                _writtenStatus.Remove(uid);
            }
            else
            {
                _ = stopping.ContinueWith(_ => Signal(), TaskScheduler.Default);
            }
        }
    }

    private async Task WriteStatusAsync(V1Pod pod, PodWorker worker, CancellationToken ct)
    {
        var status = worker.Status();
        var json = KubernetesJson.Serialize(status);
        var uid = pod.Metadata.Uid ?? "";
        if (_writtenStatus.TryGetValue(uid, out var written) && written == json) return;
        try
        {
            var patch = new V1Patch($"{{\"status\":{json}}}", V1Patch.PatchType.MergePatch);
            var updated = await Client.CoreV1.PatchNamespacedPodStatusAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            _writtenStatus[uid] = json;
            Pods.Upsert(updated);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
    }

    private async Task ReleaseFinalizerAsync(V1Pod pod, CancellationToken ct)
    {
        if (pod.Metadata.Finalizers?.Contains(PodFinalizer) != true) return;
        var rest = pod.Metadata.Finalizers.Where(f => f != PodFinalizer).ToList();
        var patch = new V1Patch(
            KubernetesJson.Serialize(new { metadata = new { finalizers = rest, resourceVersion = pod.Metadata.ResourceVersion } }),
            V1Patch.PatchType.MergePatch);
        try
        {
            await Client.CoreV1.PatchNamespacedPodAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            Log.Write($"pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}: deleted");
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict)
        {
        }
    }
}
