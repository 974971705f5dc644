using k8s;
using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// One Pod on this node: its network namespace and address, its volumes, its files (the managed
/// /etc/hosts, /etc/hostname, /etc/resolv.conf), its cgroup, a <see cref="ContainerRunner"/> per
/// container, and the <see cref="V1PodStatus"/> they add up to (phase, conditions, podIP,
/// containerStatuses), as the kubelet's pod worker and status manager keep them. Its places:
/// <list type="bullet">
/// <item><see cref="LogDirectory"/>: <c>&lt;state&gt;/pods/&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restartCount&gt;.log</c> (CRI format);</item>
/// <item><see cref="VolumeDirectory"/>: <c>&lt;state&gt;/kubelet/pods/&lt;uid&gt;</c>: volumes, etc-hosts, termination messages;</item>
/// <item><c>&lt;state&gt;/containers/&lt;id&gt;</c>: each running container's bundle (config.json, overlay);</item>
/// <item><see cref="CgroupParent"/>: <c>/local-cluster/pod&lt;uid&gt;</c>.</item>
/// </list>
/// </summary>
internal sealed class PodWorker
{
    private readonly Lock _lock = new();
    private readonly Kubelet _kubelet;
    private readonly List<ContainerRunner> _containers;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, DateTime> _transitions = [];
    private readonly DateTime _startTime = DateTime.UtcNow;
    private Task? _run;
    private Task? _stopping;
    private string? _podIp;
    private string? _setupError;

    public PodWorker(Kubelet kubelet, V1Pod pod)
    {
        _kubelet = kubelet;
        Pod = pod;
        Key = $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
        var id = (pod.Metadata.Uid ?? Guid.NewGuid().ToString()).Replace("-", "", StringComparison.Ordinal)[..10];
        Netns = PodNetwork.NamespacePrefix + id;
        HostVeth = "lcv" + id;
        var uid = pod.Metadata.Uid ?? id;
        LogDirectory = Path.Combine(kubelet.StateDir, "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{uid}");
        VolumeDirectory = Path.Combine(kubelet.StateDir, "kubelet", "pods", uid);
        CgroupParent = $"{kubelet.CgroupRoot}/pod{uid}";
        Volumes = new PodVolumes(kubelet, pod, VolumeDirectory);
        _containers = [.. pod.Spec.Containers.Select(c => new ContainerRunner(this, c))];
    }

    /// <summary>The Pod as it was when the worker started (a Pod's spec does not change).</summary>
    public V1Pod Pod { get; }

    /// <summary>namespace/name.</summary>
    public string Key { get; }

    /// <summary>The network namespace's name (lc-&lt;uid prefix&gt;).</summary>
    public string Netns { get; }

    /// <summary>Host end of the Pod's veth pair (at most 15 characters, as Linux requires).</summary>
    public string HostVeth { get; }

    /// <summary>The Pod's log directory: &lt;state&gt;/pods/&lt;namespace&gt;_&lt;name&gt;_&lt;uid&gt; (kept after the Pod, until down).</summary>
    public string LogDirectory { get; }

    /// <summary>The Pod's own directory: &lt;state&gt;/kubelet/pods/&lt;uid&gt; (volumes, etc-hosts, termination messages).</summary>
    public string VolumeDirectory { get; }

    /// <summary>The Pod's cgroup (in every hierarchy): /local-cluster/pod&lt;uid&gt;.</summary>
    public string CgroupParent { get; }

    /// <summary>The Pod's volumes.</summary>
    public PodVolumes Volumes { get; }

    /// <summary>The managed hosts file (kubelet_pods.go, managedHostsFileContent).</summary>
    public string HostsFile => Path.Combine(VolumeDirectory, "etc-hosts");

    /// <summary>The hostname file mounted at /etc/hostname.</summary>
    public string HostnameFile => Path.Combine(VolumeDirectory, "hostname");

    /// <summary>The resolv.conf mounted at /etc/resolv.conf: the node's (no cluster DNS here).</summary>
    public string ResolvConfFile => Path.Combine(VolumeDirectory, "resolv.conf");

    /// <summary>The cluster's state directory.</summary>
    public string StateDir => _kubelet.StateDir;

    /// <summary>runc, with the cluster's state.</summary>
    public Runc Runc => _kubelet.Runc;

    /// <summary>The node's image store.</summary>
    public ImageStore Images => _kubelet.Images;

    /// <summary>The API server's address for KUBERNETES_SERVICE_HOST/PORT: Endpoints default/kubernetes, null when absent.</summary>
    public (string Host, int Port)? MasterServiceEndpoint()
    {
        var endpoints = _kubelet.EndpointsCache.Get("default", "kubernetes");
        var subset = endpoints?.Subsets?.FirstOrDefault(s => s.Addresses is { Count: > 0 } && s.Ports is { Count: > 0 });
        if (subset is null) return null;
        var port = subset.Ports.FirstOrDefault(p => p.Name == "https") ?? subset.Ports[0];
        return (subset.Addresses[0].Ip, port.Port);
    }

    /// <summary>The node's own client (the Secrets and ConfigMaps its containers' environment reads).</summary>
    public IKubernetes Client => _kubelet.NodeClient;

    /// <summary>The Pod's address, empty until its network is up.</summary>
    public string PodIp
    {
        get { lock (_lock) return _podIp ?? ""; }
    }

    /// <summary>The node's address.</summary>
    public string HostIp => _kubelet.Network.HostIp;

    /// <summary>True once stopping began (deletion): the Pod is no longer ready, whatever its probes say.</summary>
    public bool Terminating => _stopping is not null;

    /// <summary>Tells the kubelet that the status changed.</summary>
    public void Changed() => _kubelet.Signal();

    /// <summary>Records an Event about this Pod (fieldPath spec.containers{name} when about a container).</summary>
    public void Event(string type, string reason, string message, string? container = null) =>
        _kubelet.Events.Record(Pod, type, reason, message, container is null ? null : $"spec.containers{{{container}}}");

    /// <summary>Sets up the network, then runs the containers until <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        _run = Task.Run(async () =>
        {
            try
            {
                System.IO.Directory.CreateDirectory(LogDirectory);
                System.IO.Directory.CreateDirectory(VolumeDirectory);
                var ip = await _kubelet.Network.SetUpAsync(Netns, HostVeth);
                lock (_lock) _podIp = ip;
                WritePodFiles(ip);
                Log.Write($"pod {Key}: network namespace {Netns}, address {ip}");
                Changed();
            }
            catch (Exception e)
            {
                lock (_lock) _setupError = e.Message;
                Log.Write($"pod {Key}: network set-up failed: {e.Message}");
                Event("Warning", "FailedCreatePodSandBox", $"Failed to create pod sandbox: {e.Message}");
                Changed();
                return;
            }
            // Volumes before containers; a volume that cannot be set up (a missing Secret) is retried,
            // the Pod meanwhile in ContainerCreating with a FailedMount event, as the kubelet's volume manager does.
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Volumes.SetUpAsync(PodIp, HostIp, _stop.Token);
                    break;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception e)
                {
                    Event("Warning", "FailedMount", e is PodVolumes.VolumeException ? e.Message : $"MountVolume.SetUp failed: {e.Message}");
                    Log.Write($"pod {Key}: {e.Message}");
                    await ContainerRunner.Delay(TimeSpan.FromSeconds(2), _stop.Token);
                }
            }
            var grace = TimeSpan.FromSeconds(Pod.Spec.TerminationGracePeriodSeconds ?? 30);
            await Task.WhenAll(_containers.Select(c => c.RunAsync(grace, _stop.Token)));
        });
    }

    /// <summary>
    /// Stops the Pod: waits <paramref name="drain"/> first (the Endpoints and the Ingress drop a
    /// terminating Pod at once; in-flight requests finish meanwhile), then stops every container
    /// (SIGTERM, SIGKILL after the grace period) and removes the namespace and the address.
    /// </summary>
    public Task StopAsync(TimeSpan drain)
    {
        lock (_lock)
        {
            return _stopping ??= Task.Run(async () =>
            {
                Changed();
                await Task.Delay(drain);
                await _stop.CancelAsync();
                try
                {
                    if (_run is not null) await _run;
                }
                catch (Exception e)
                {
                    Log.Write($"pod {Key}: its containers ended with {e.GetType().Name}: {e.Message}; cleaning up all the same");
                }
                // Every container is gone (runc removed each one's cgroups and bundle); then the volumes,
                // the Pod's cgroup, its network namespace and its directory. Its logs stay until down.
                await Volumes.TearDownAsync();
                var left = Cgroups.RemoveTree(CgroupParent);
                if (left.Count > 0) Log.Write($"pod {Key}: cgroups still busy: {string.Join(", ", left)}");
                await _kubelet.Network.RemoveAsync(Netns);
                if (_podIp is { } ip) _kubelet.Network.Release(ip);
                Log.Write($"pod {Key}: stopped; namespace {Netns}, volumes and cgroup removed");
            });
        }
    }

    /// <summary>The status the kubelet reports now.</summary>
    public V1PodStatus Status()
    {
        var containers = _containers.Select(c => c.Status()).ToList();
        var allReady = containers.All(c => c.Ready) && !Terminating;
        var ip = PodIp;
        var running = ip.Length > 0 && _containers.All(c => c.EverRan);
        var conditions = new List<V1PodCondition>
        {
            Condition("PodReadyToStartContainers", ip.Length > 0, null),
            Condition("Initialized", true, null),
            Condition("Ready", allReady, allReady ? null : "ContainersNotReady"),
            Condition("ContainersReady", allReady, allReady ? null : "ContainersNotReady"),
            Condition("PodScheduled", true, null),
        };
        var notReady = containers.Where(c => !c.Ready).Select(c => c.Name).ToList();
        foreach (var c in conditions.Where(c => c.Reason == "ContainersNotReady"))
        {
            c.Message = $"containers with unready status: [{string.Join(' ', notReady)}]";
        }
        string? setupError;
        lock (_lock) setupError = _setupError;
        return new V1PodStatus
        {
            Phase = running ? "Running" : "Pending",
            Conditions = conditions,
            HostIP = HostIp,
            HostIPs = [new V1HostIP { Ip = HostIp }],
            PodIP = ip.Length > 0 ? ip : null,
            PodIPs = ip.Length > 0 ? [new V1PodIP { Ip = ip }] : null,
            StartTime = _startTime,
            QosClass = ContainerConfig.QosClass(Pod),
            Message = setupError,
            ContainerStatuses = containers,
        };
    }

    /// <summary>
    /// The managed /etc/hosts (kubelet_pods.go, managedHostsFileContent: localhost entries, the Pod's
    /// address and name, then hostAliases), /etc/hostname, and /etc/resolv.conf copied from the node.
    /// </summary>
    private void WritePodFiles(string ip)
    {
        var hosts = new System.Text.StringBuilder()
            .Append("# Kubernetes-managed hosts file.\n")
            .Append("127.0.0.1\tlocalhost\n")
            .Append("::1\tlocalhost ip6-localhost ip6-loopback\n")
            .Append("fe00::0\tip6-localnet\n")
            .Append("fe00::0\tip6-mcastprefix\n")
            .Append("fe00::1\tip6-allnodes\n")
            .Append("fe00::2\tip6-allrouters\n")
            .Append(ip).Append('\t').Append(Pod.Metadata.Name).Append('\n');
        if (Pod.Spec.HostAliases is { Count: > 0 } aliases)
        {
            hosts.Append("\n# Entries added by HostAliases.\n");
            foreach (var a in aliases) hosts.Append(a.Ip).Append('\t').Append(string.Join('\t', a.Hostnames ?? [])).Append('\n');
        }
        File.WriteAllText(HostsFile, hosts.ToString());
        File.WriteAllText(HostnameFile, Pod.Metadata.Name + "\n");
        File.WriteAllText(ResolvConfFile, File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "");
        foreach (var f in new[] { HostsFile, HostnameFile, ResolvConfFile }) File.SetUnixFileMode(f, (UnixFileMode)0x1A4); // 0644
    }

    private V1PodCondition Condition(string type, bool value, string? reason)
    {
        var status = value ? "True" : "False";
        DateTime since;
        lock (_lock)
        {
            var key = $"{type}={status}";
            if (!_transitions.TryGetValue(key, out since))
            {
                since = DateTime.UtcNow;
                _transitions.Remove($"{type}={(value ? "False" : "True")}");
                _transitions[key] = since;
            }
        }
        return new V1PodCondition { Type = type, Status = status, Reason = reason, LastTransitionTime = since };
    }
}
