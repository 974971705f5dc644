using System.Net;
using k8s;
using k8s.Models;
using LocalCluster.KubeletServer;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>Who a kubelet is and what its node offers (<c>local-cluster kubelet</c>'s flags).</summary>
/// <param name="NodeName">The Node's name (<c>--node-name</c>; <c>spec.nodeName</c> of its Pods, <c>kubernetes.io/hostname</c>).</param>
/// <param name="RootDir">The kubelet's own directory (<c>--root-dir</c>): runc's state, bundles, volumes, Pod logs.</param>
/// <param name="CgroupRoot">The cgroup under which its Pods' cgroups go (<c>/local-cluster</c> or <c>/local-cluster/&lt;node&gt;</c>).</param>
/// <param name="Zone">The <c>topology.kubernetes.io/zone</c> label; null: none.</param>
/// <param name="Cpu">CPU capacity (<c>--node-cpu</c>, a quantity such as <c>2</c> or <c>1500m</c>); null: the machine's cores.</param>
/// <param name="Memory">Memory capacity (<c>--node-memory</c>, a quantity such as <c>4Gi</c>); null: the machine's MemTotal.</param>
internal sealed record KubeletSettings(string NodeName, string RootDir, string CgroupRoot, string? Zone = null, string? Cpu = null, string? Memory = null);

/// <summary>
/// The node: caches of the kinds it reads (list+watch), and one level-triggered loop that runs the
/// Pods bound to this node (workers) and writes their status. Any cache change or status change
/// wakes the loop; it also runs every second. Beside the loop: the kubelet's server
/// (<c>/containerLogs</c>, <c>/exec</c>, <c>/attach</c> for the API server's pods/log, pods/exec and
/// pods/attach) on the node's address, and the Node with its heartbeats
/// (<see cref="NodeStatusManager"/>). Placing Pods is the scheduler's (<c>local-cluster
/// controller-manager</c>); a Pod that names no node is not this kubelet's business, as a real
/// kubelet's watch selects only <c>spec.nodeName=&lt;node&gt;</c>.
/// <para>
/// Two credentials, as on a real node: what the kubelet itself does (its Node and Lease, the status
/// of its Pods, the Secrets, ConfigMaps and ServiceAccount tokens they use, its Events) goes through
/// <see cref="NodeClient"/>, the node's own identity (<c>system:node:&lt;name&gt;</c>, kept to its
/// own objects by the Node authorizer and NodeRestriction), and so does its watch of the Pods bound to
/// it; the Endpoints cache and the release of its Pod finalizer go through <see cref="Client"/>, the
/// administrator's.
/// </para>
/// </summary>
internal sealed class Kubelet : IKubeletHost
{
    /// <summary>Finalizer on the Pods this node runs: deletion waits until the containers, volumes, cgroups and the namespace are gone.</summary>
    public const string PodFinalizer = "local-cluster.userapi.example.com/kubelet";

    /// <summary>The name of the one node of a one-node cluster (and the first of several, as minikube names them).</summary>
    public const string DefaultNodeName = "local-cluster";

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, PodWorker> _workers = [];
    private readonly Dictionary<string, string> _writtenStatus = [];
    private readonly KubeletSettings _settings;

    private NodeStatusManager? _node;

    public Kubelet(IKubernetes client, IKubernetes nodeClient, KubeletSettings settings, ImageStore images, PodNetwork network)
    {
        Client = client;
        NodeClient = nodeClient;
        _settings = settings;
        StateDir = settings.RootDir;
        Images = images;
        Runc = new Runc(Path.Combine(StateDir, "runc"));
        Network = network;
        Events = new EventRecorder(nodeClient, "kubelet", NodeName);
        // Only the Pods bound to this node, with the node's own credential, as the kubelet's API
        // server source lists and watches them (kubernetes/kubernetes pkg/kubelet/config/apiserver.go,
        // NewSourceApiserver: fields.OneTermEqualSelector("spec.nodeName", nodeName)); the Node
        // authorizer lets a node read Pods (plugin/pkg/auth/authorizer/node).
        var onThisNode = $"spec.nodeName={settings.NodeName}";
        Pods = new("pods",
            async ct => { var l = await nodeClient.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: onThisNode, cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => nodeClient.CoreV1.WatchListPodForAllNamespacesAsync(fieldSelector: onThisNode, resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
        EndpointsCache = new("endpoints",
            async ct => { var l = await client.CoreV1.ListEndpointsForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListEndpointsForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal);
    }

    /// <summary>The node's name (<c>spec.nodeName</c> of its Pods).</summary>
    public string NodeName => _settings.NodeName;

    /// <summary>The cgroup its Pods' cgroups go under (<c>/local-cluster</c>, or <c>/local-cluster/&lt;node&gt;</c> beside other nodes).</summary>
    public string CgroupRoot => _settings.CgroupRoot;

    /// <summary>The administrator's client: the Endpoints cache and the release of the Pod finalizer.</summary>
    public IKubernetes Client { get; }

    /// <summary>The node's own client (<c>kubelet.kubeconfig</c>): its Node and Lease, the watch of its Pods and their status, Secrets, ConfigMaps and tokens, its Events.</summary>
    public IKubernetes NodeClient { get; }

    public string StateDir { get; }

    /// <summary>The node's image store.</summary>
    public ImageStore Images { get; }

    /// <summary>runc with its state in &lt;state&gt;/runc.</summary>
    public Runc Runc { get; }

    public PodNetwork Network { get; }

    /// <summary>The kubelet's Events (source <c>kubelet</c>, this node), written with the node's credential.</summary>
    public EventRecorder Events { get; }

    /// <summary>The Node as last written, null before registration.</summary>
    public V1Node? Node => _node?.Node;

    /// <summary>The directory of the Pods' log directories (<c>&lt;state&gt;/pods</c>, the kubelet's /var/log/pods).</summary>
    public string PodLogsRoot => Path.Combine(StateDir, "pods");

    /// <summary>
    /// The Pod bound to this node, with the status its worker reports now (what the kubelet's server
    /// reads for logs and exec); the cached Pod as it is when no worker runs it; null when this node
    /// does not run it.
    /// </summary>
    public V1Pod? GetPodByName(string @namespace, string name)
    {
        var pod = Pods.Get(@namespace, name);
        if (pod is null || pod.Spec?.NodeName != NodeName) return null;
        PodWorker? worker;
        lock (_workers) _workers.TryGetValue(pod.Metadata.Uid ?? "", out worker);
        if (worker is null) return pod;
        var copy = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));
        copy.Status = worker.Status();
        return copy;
    }

    public Informer<V1Pod> Pods { get; }

    public Informer<V1Endpoints> EndpointsCache { get; }

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

    /// <summary>Runs until cancelled, then stops every Pod.</summary>
    public async Task RunAsync(Action ready, CancellationToken ct)
    {
        Task[] informers =
        [
            Pods.RunAsync(ct), EndpointsCache.RunAsync(ct),
        ];
        await Task.WhenAll(Pods.Synced, EndpointsCache.Synced).WaitAsync(ct);
        Log.Write("kubelet: caches synced");

        // The kubelet's server on the node's address (a free port), which the Node then advertises
        // (status.daemonEndpoints.kubeletEndpoint.Port) for the API server's pods/log and pods/exec.
        await using var server = await KubeletServer.KubeletServer.StartAsync(this, new RuncRuntime(Runc.Root), new KubeletServerOptions
        {
            Address = IPAddress.Parse(Network.HostIp),
            Port = 0,
            Log = line => Log.Write($"server: {line}"),
        }, ct);
        Log.Write($"kubelet: serving logs and exec on http://{server.Endpoint}");
        var version = await NodeClient.Version.GetCodeAsync(ct);
        _node = new NodeStatusManager(NodeClient, NodeName, new NodeStatusManager.Settings(
            Network.HostIp, server.Endpoint.Port, version.GitVersion, StateDir,
            () => [.. Images.List().Select(i => new V1ContainerImage { Names = [.. i.Names], SizeBytes = i.SizeBytes })])
        {
            Zone = _settings.Zone,
            Cpu = _settings.Cpu,
            Memory = _settings.Memory,
            PodCidr = Network.PodCidr,
        }, Events);
        await _node.RegisterAsync(ct);
        var heartbeats = _node.RunAsync(ct);

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
                await SyncPodsAsync(ct);
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
        try
        {
            await Task.WhenAll([.. informers, heartbeats]);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Starts workers for new Pods of this node, stops those of deleted ones, releases finalizers, writes status.</summary>
    private async Task SyncPodsAsync(CancellationToken ct)
    {
        var all = Pods.Snapshot();
        // The kubelet runs the Pods bound to its node (its watch selects spec.nodeName=<node>).
        var pods = all.Where(p => p.Spec?.NodeName == NodeName).ToList();
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

    /// <summary>The Pod's status from its worker, written with the node's credential when it changed (the status manager's <c>syncPod</c>).</summary>
    private async Task WriteStatusAsync(V1Pod pod, PodWorker worker, CancellationToken ct)
    {
        var status = worker.Status();
        var json = KubernetesJson.Serialize(status);
        var uid = pod.Metadata.Uid ?? "";
        if (_writtenStatus.TryGetValue(uid, out var written) && written == json) return;
        try
        {
            var patch = new V1Patch($"{{\"status\":{json}}}", V1Patch.PatchType.MergePatch);
            var updated = await NodeClient.CoreV1.PatchNamespacedPodStatusAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            _writtenStatus[uid] = json;
            Pods.Upsert(updated);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>
    /// Removes this node's finalizer once the Pod's containers are gone. The finalizer stands in for
    /// graceful deletion, which the fake API server does not do (a real kubelet ends it with a DELETE
    /// of grace period 0); removing it is a metadata write, which a node may not make, so it goes with
    /// the administrator's credential.
    /// </summary>
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
