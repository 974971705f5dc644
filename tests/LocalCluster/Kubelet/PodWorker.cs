using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// One Pod on this node: its network namespace and address, a <see cref="ContainerRunner"/> per
/// container, and the <see cref="V1PodStatus"/> they add up to (phase, conditions, podIP,
/// containerStatuses), as the kubelet's pod worker and status manager keep them.
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
        Directory = Path.Combine(kubelet.StateDir, "pods", $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{id}");
        _containers = [.. pod.Spec.Containers.Select(c => new ContainerRunner(this, c, kubelet.Images.Resolve(c.Image)))];
    }

    /// <summary>The Pod as it was when the worker started (a Pod's spec does not change).</summary>
    public V1Pod Pod { get; }

    /// <summary>namespace/name.</summary>
    public string Key { get; }

    /// <summary>The network namespace's name (lc-&lt;uid prefix&gt;).</summary>
    public string Netns { get; }

    /// <summary>Host end of the Pod's veth pair (at most 15 characters, as Linux requires).</summary>
    public string HostVeth { get; }

    /// <summary>The Pod's directory under the state directory: container logs and writable layers.</summary>
    public string Directory { get; }

    /// <summary>The API client.</summary>
    public IKubernetes Client => _kubelet.Client;

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
                System.IO.Directory.CreateDirectory(Directory);
                var ip = await _kubelet.Network.SetUpAsync(Netns, HostVeth);
                lock (_lock) _podIp = ip;
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
            var grace = TimeSpan.FromSeconds(Math.Min(Pod.Spec.TerminationGracePeriodSeconds ?? 30, 10));
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
                if (_run is not null) await _run;
                await PodNetwork.TearDownAsync(Netns);
                if (_podIp is { } ip) _kubelet.Network.Release(ip);
                // The containers' writable layers go with the Pod (a database is 30 MB); their logs stay.
                foreach (var c in _containers)
                {
                    var layer = Path.Combine(Directory, c.Name);
                    if (System.IO.Directory.Exists(layer)) System.IO.Directory.Delete(layer, recursive: true);
                }
                Log.Write($"pod {Key}: stopped; namespace {Netns} removed");
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
            QosClass = "Burstable",
            Message = setupError,
            ContainerStatuses = containers,
        };
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
