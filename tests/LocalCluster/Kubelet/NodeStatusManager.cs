using System.Globalization;
using System.Runtime.InteropServices;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// The kubelet's Node, with the node's own credential (<c>system:node:&lt;name&gt;</c>, which the
/// Node authorizer and NodeRestriction keep to this Node and its Lease):
/// <list type="bullet">
/// <item>registration (<c>pkg/kubelet/kubelet_node_status.go</c>, <c>registerWithAPIServer</c> and
/// <c>initialNode</c>): a POST of the Node, or, when it exists (a kubelet restarted), its default labels
/// put back; labels <c>kubernetes.io/hostname</c>, <c>kubernetes.io/os</c>, <c>kubernetes.io/arch</c>
/// and their <c>beta.</c> forms;</item>
/// <item>its status (<c>pkg/kubelet/nodestatus/setters.go</c>): <c>NodeAddress</c> (InternalIP, the
/// bridge's gateway where the Pods and the API server reach this node, and Hostname),
/// <c>MachineInfo</c> (capacity from the machine: cores, MemTotal, the state directory's file system,
/// 110 Pods, huge pages; allocatable = capacity minus the default hard eviction thresholds,
/// memory.available 100Mi and nodefs.available 10%, since nothing is reserved:
/// <c>pkg/kubelet/cm/node_container_manager_linux.go</c>, <c>GetNodeAllocatableAbsolute</c>),
/// <c>VersionInfo</c> and <c>NodeInfo</c> (machine-id, boot id, kernel, os-release, runc's version,
/// the API server's version as the kubelet's), <c>DaemonEndpoints</c> (the kubelet server's port),
/// <c>Images</c>, and the conditions MemoryPressure, DiskPressure, PIDPressure (False) and Ready
/// (True, <c>KubeletReady</c>), with their heartbeat and transition times;</item>
/// <item>heartbeats as with the NodeLease feature (always on since 1.17): the status computed every
/// 10 s (<c>nodeStatusUpdateFrequency</c>) and written when it changed or 5 minutes after the last
/// report (<c>nodeStatusReportFrequency</c>, <c>tryUpdateNodeStatus</c>), and the Lease
/// <c>kube-node-lease/&lt;node&gt;</c> (holder the node, 40 s, owned by the Node) renewed every 10 s,
/// a quarter of its duration (<c>staging/src/k8s.io/component-helpers/apimachinery/lease/controller.go</c>,
/// <c>ensureLease</c>, <c>newLease</c>, <c>retryUpdateLease</c>).</item>
/// </list>
/// Events on the Node as the kubelet records them (<c>kl.nodeRef</c>, whose UID is the node's name):
/// <c>Starting</c> at registration and, at each condition's transition, <c>NodeHasSufficientMemory</c>,
/// <c>NodeHasNoDiskPressure</c>, <c>NodeHasSufficientPID</c> and <c>NodeReady</c>
/// (<c>recordNodeStatusEvent</c>: "Node &lt;name&gt; status is now: &lt;event&gt;").
/// The status goes as a JSON merge patch of the whole <c>status</c> (lists replaced), where the real
/// kubelet sends a strategic merge patch computed from the old and new objects.
/// </summary>
internal sealed class NodeStatusManager(IKubernetes nodeClient, string nodeName, NodeStatusManager.Settings settings, EventRecorder events)
{
    /// <summary>How often the status is computed (kubelet <c>nodeStatusUpdateFrequency</c>).</summary>
    public static readonly TimeSpan UpdateFrequency = TimeSpan.FromSeconds(10);

    /// <summary>How long an unchanged status goes unreported (kubelet <c>nodeStatusReportFrequency</c>).</summary>
    public static readonly TimeSpan ReportFrequency = TimeSpan.FromMinutes(5);

    /// <summary>The node Lease's duration (kubelet <c>nodeLeaseDurationSeconds</c>); renewed every quarter of it.</summary>
    public const int LeaseDurationSeconds = 40;

    /// <summary>The namespace of the node Leases.</summary>
    public const string LeaseNamespace = "kube-node-lease";

    private V1NodeStatus? _reported;
    private DateTime _lastReport = DateTime.MinValue;
    private readonly Dictionary<string, DateTime> _transitions = [];

    /// <summary>What the status is made of besides the machine itself.</summary>
    /// <param name="Address">The node's InternalIP (the bridge's gateway).</param>
    /// <param name="KubeletPort">The kubelet server's port (<c>daemonEndpoints.kubeletEndpoint.Port</c>).</param>
    /// <param name="KubeletVersion">The version reported as the kubelet's (the API server's, as a cluster's nodes run its minor version).</param>
    /// <param name="StateDir">The kubelet's root directory: its file system is the node's ephemeral storage.</param>
    /// <param name="Images">The node's images with their sizes (<c>status.images</c>).</param>
    public sealed record Settings(string Address, int KubeletPort, string KubeletVersion, string StateDir, Func<IReadOnlyList<V1ContainerImage>> Images)
    {
        /// <summary>The <c>topology.kubernetes.io/zone</c> label (and its <c>failure-domain.beta</c> form is not written: deprecated since 1.17); null: none.</summary>
        public string? Zone { get; init; }

        /// <summary>CPU capacity as a quantity (<c>2</c>, <c>1500m</c>); null: the machine's cores.</summary>
        public string? Cpu { get; init; }

        /// <summary>Memory capacity as a quantity (<c>4Gi</c>); null: the machine's MemTotal.</summary>
        public string? Memory { get; init; }

        /// <summary>The Node's <c>spec.podCIDR</c>(s): the range its Pods' addresses come from; null: none.</summary>
        public string? PodCidr { get; init; }
    }

    /// <summary>The Node as last written (null before registration).</summary>
    public V1Node? Node { get; private set; }

    /// <summary>Registers the Node (retrying with the kubelet's backoff, 100 ms doubling to 7 s) and writes its first status.</summary>
    public async Task RegisterAsync(CancellationToken ct)
    {
        var step = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                Node = await TryRegisterAsync(ct);
                Log.Write($"node {nodeName}: registered");
                events.Record(NodeRef, "Normal", "Starting", "Starting kubelet.");
                await UpdateStatusAsync(force: true, ct);
                return;
            }
            catch (k8s.Autorest.HttpOperationException e) when (!ct.IsCancellationRequested)
            {
                Log.Write($"node {nodeName}: unable to register with the API server: {e.Response.StatusCode} {e.Response.Content}");
            }
            catch (HttpRequestException e) when (!ct.IsCancellationRequested)
            {
                Log.Write($"node {nodeName}: unable to register with the API server: {e.Message}");
            }
            await Task.Delay(step, ct);
            step = TimeSpan.FromTicks(Math.Min(step.Ticks * 2, TimeSpan.FromSeconds(7).Ticks));
        }
    }

    /// <summary>Heartbeats until cancelled: the status every <see cref="UpdateFrequency"/>, the Lease every quarter of its duration.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var renew = TimeSpan.FromSeconds(LeaseDurationSeconds / 4.0);
        var nextStatus = DateTime.UtcNow + UpdateFrequency;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RenewLeaseAsync(ct);
                if (DateTime.UtcNow >= nextStatus)
                {
                    await UpdateStatusAsync(force: false, ct);
                    nextStatus = DateTime.UtcNow + UpdateFrequency;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException or IOException)
            {
                var detail = e is k8s.Autorest.HttpOperationException h ? $"{h.Response.StatusCode} {h.Response.Content}" : e.Message;
                Log.Write($"node {nodeName}: heartbeat failed, will retry: {detail}");
            }
            try
            {
                await Task.Delay(Min(renew, UpdateFrequency), ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task<V1Node> TryRegisterAsync(CancellationToken ct)
    {
        var node = new V1Node
        {
            ApiVersion = "v1",
            Kind = "Node",
            Metadata = new V1ObjectMeta { Name = nodeName, Labels = DefaultLabels() },
            Spec = new V1NodeSpec { PodCIDR = settings.PodCidr, PodCIDRs = settings.PodCidr is { } cidr ? [cidr] : null },
        };
        try
        {
            return await nodeClient.CoreV1.CreateNodeAsync(node, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // tryRegisterWithAPIServer: the Node exists (this kubelet ran before); put its default labels back.
            var existing = await nodeClient.CoreV1.ReadNodeAsync(nodeName, cancellationToken: ct);
            var labels = existing.Metadata.Labels ?? new Dictionary<string, string>();
            if (DefaultLabels().All(l => labels.Value(l.Key) == l.Value)) return existing;
            var patch = new V1Patch(KubernetesJson.Serialize(new { metadata = new { labels = DefaultLabels() } }), V1Patch.PatchType.MergePatch);
            return await nodeClient.CoreV1.PatchNodeAsync(patch, nodeName, cancellationToken: ct);
        }
    }

    /// <summary>
    /// <c>initialNode</c>'s labels: the hostname label is the node's name (as kind and minikube
    /// nodes, whose hostname is their node name), and the zone, which a real kubelet takes from its
    /// cloud provider (<c>topology.kubernetes.io/zone</c>), from the settings.
    /// </summary>
    private Dictionary<string, string> DefaultLabels()
    {
        var arch = Architecture();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kubernetes.io/hostname"] = nodeName,
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/arch"] = arch,
            ["beta.kubernetes.io/os"] = "linux",
            ["beta.kubernetes.io/arch"] = arch,
        };
        if (settings.Zone is { } zone) labels["topology.kubernetes.io/zone"] = zone;
        return labels;
    }

    /// <summary><c>tryUpdateNodeStatus</c>: computes the status; writes it when it changed or the report is due.</summary>
    private async Task UpdateStatusAsync(bool force, CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        var status = Status(now);
        var due = now - _lastReport >= ReportFrequency;
        if (!force && !due && _reported is not null && Comparable(_reported) == Comparable(status)) return;
        var patch = new V1Patch(KubernetesJson.Serialize(new { status }), V1Patch.PatchType.MergePatch);
        Node = await nodeClient.CoreV1.PatchNodeStatusAsync(patch, nodeName, cancellationToken: ct);
        _reported = status;
        _lastReport = now;
    }

    /// <summary>The status without the heartbeat times (<c>nodeStatusHasChanged</c> ignores them).</summary>
    private static string Comparable(V1NodeStatus status) =>
        KubernetesJson.Serialize(status with { Conditions = [.. status.Conditions.Select(c => c with { LastHeartbeatTime = null })] });

    /// <summary>The Lease: made when missing (owned by the Node), else its renewTime moved to now.</summary>
    private async Task RenewLeaseAsync(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        V1Lease lease;
        try
        {
            lease = await nodeClient.CoordinationV1.ReadNamespacedLeaseAsync(nodeName, LeaseNamespace, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            var fresh = new V1Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new V1ObjectMeta
                {
                    Name = nodeName,
                    NamespaceProperty = LeaseNamespace,
                    OwnerReferences = Node?.Metadata.Uid is { } uid
                        ? [new V1OwnerReference { ApiVersion = "v1", Kind = "Node", Name = nodeName, Uid = uid }]
                        : null,
                },
                Spec = new V1LeaseSpec { HolderIdentity = nodeName, LeaseDurationSeconds = LeaseDurationSeconds, RenewTime = now },
            };
            await nodeClient.CoordinationV1.CreateNamespacedLeaseAsync(fresh, LeaseNamespace, cancellationToken: ct);
            return;
        }
        lease.Spec ??= new V1LeaseSpec();
        lease.Spec.HolderIdentity = nodeName;
        lease.Spec.LeaseDurationSeconds = LeaseDurationSeconds;
        lease.Spec.RenewTime = now;
        await nodeClient.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, nodeName, LeaseNamespace, cancellationToken: ct);
    }

    /// <summary>The status the setters of pkg/kubelet/nodestatus would compute now.</summary>
    private V1NodeStatus Status(DateTime now)
    {
        var capacity = Capacity();
        var allocatable = new Dictionary<string, ResourceQuantity>(capacity);
        // Nothing reserved (kube-reserved, system-reserved); the default hard eviction thresholds.
        allocatable["memory"] = new ResourceQuantity($"{Math.Max(capacity["memory"].ToInt64() / 1024 - (100 * 1024), 0)}Ki");
        if (capacity.TryGetValue("ephemeral-storage", out var storage))
        {
            allocatable["ephemeral-storage"] = new ResourceQuantity(((long)(storage.ToInt64() * 0.9)).ToString(CultureInfo.InvariantCulture));
        }

        return new V1NodeStatus
        {
            Capacity = capacity,
            Allocatable = allocatable,
            Conditions =
            [
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now),
                Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
                Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now),
                Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
            ],
            Addresses =
            [
                new V1NodeAddress { Type = "InternalIP", Address = settings.Address },
                new V1NodeAddress { Type = "Hostname", Address = nodeName },
            ],
            DaemonEndpoints = new V1NodeDaemonEndpoints { KubeletEndpoint = new V1DaemonEndpoint { Port = settings.KubeletPort } },
            NodeInfo = new V1NodeSystemInfo
            {
                MachineID = ReadTrimmed("/etc/machine-id"),
                SystemUUID = ReadTrimmed("/sys/class/dmi/id/product_uuid"),
                BootID = ReadTrimmed("/proc/sys/kernel/random/boot_id"),
                KernelVersion = ReadTrimmed("/proc/sys/kernel/osrelease"),
                OsImage = OsImage(),
                ContainerRuntimeVersion = RuntimeVersion.Value,
                KubeletVersion = settings.KubeletVersion,
                KubeProxyVersion = "",
                OperatingSystem = "linux",
                Architecture = Architecture(),
            },
            Images = [.. settings.Images()],
        };
    }

    /// <summary>The kubelet's reference to its Node for Events: kind Node, the node's name as name and UID, no namespace.</summary>
    private V1Node NodeRef => new() { ApiVersion = null, Kind = "Node", Metadata = new V1ObjectMeta { Name = nodeName, Uid = nodeName } };

    private V1NodeCondition Condition(string type, string status, string reason, string message, DateTime now)
    {
        var key = $"{type}={status}";
        if (!_transitions.TryGetValue(key, out var since))
        {
            foreach (var other in _transitions.Keys.Where(k => k.StartsWith(type + "=", StringComparison.Ordinal)).ToList()) _transitions.Remove(other);
            _transitions[key] = since = now;
            // nodestatus setters: the Event named after the condition's new state.
            var happened = (type, status) switch
            {
                ("Ready", "True") => "NodeReady",
                ("Ready", _) => "NodeNotReady",
                (_, "False") => reason.Replace("Kubelet", "Node", StringComparison.Ordinal),
                _ => null,
            };
            if (happened is not null) events.Record(NodeRef, "Normal", happened, $"Node {nodeName} status is now: {happened}");
        }
        return new V1NodeCondition { Type = type, Status = status, Reason = reason, Message = message, LastHeartbeatTime = now, LastTransitionTime = since };
    }

    /// <summary>cAdvisor's machine info as the kubelet reports it: cores, MemTotal, the root file system, 110 Pods, huge pages.</summary>
    private Dictionary<string, ResourceQuantity> Capacity()
    {
        var capacity = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal)
        {
            ["cpu"] = new ResourceQuantity(settings.Cpu ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)),
            ["memory"] = new ResourceQuantity(settings.Memory ?? $"{MemTotalKib()}Ki"),
            ["pods"] = new ResourceQuantity("110"),
        };
        try
        {
            var drive = new DriveInfo(settings.StateDir);
            capacity["ephemeral-storage"] = new ResourceQuantity($"{drive.TotalSize / 1024}Ki");
        }
        catch (IOException)
        {
        }
        // pkg/kubelet/cm/container_manager_linux.go: one hugepages-<size> resource per size the kernel offers.
        const string hugePages = "/sys/kernel/mm/hugepages";
        if (Directory.Exists(hugePages))
        {
            foreach (var dir in Directory.GetDirectories(hugePages, "hugepages-*kB"))
            {
                var kib = long.Parse(Path.GetFileName(dir)["hugepages-".Length..^2], CultureInfo.InvariantCulture);
                var pages = long.TryParse(ReadTrimmed(Path.Combine(dir, "nr_hugepages")), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
                var size = kib % (1024 * 1024) == 0 ? $"{kib / 1024 / 1024}Gi" : kib % 1024 == 0 ? $"{kib / 1024}Mi" : $"{kib}Ki";
                capacity[$"hugepages-{size}"] = new ResourceQuantity((pages * kib * 1024).ToString(CultureInfo.InvariantCulture));
            }
        }
        return capacity;
    }

    private static long MemTotalKib()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>GOARCH's name for this machine.</summary>
    private static string Architecture() => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>PRETTY_NAME of /etc/os-release (what cAdvisor reports as the OS image).</summary>
    private static string OsImage()
    {
        foreach (var line in File.Exists("/etc/os-release") ? File.ReadLines("/etc/os-release") : [])
        {
            if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return line["PRETTY_NAME=".Length..].Trim('"');
        }
        return "Linux";
    }

    /// <summary>The runtime as CRI reports it (<c>&lt;name&gt;://&lt;version&gt;</c>): runc itself here, from <c>runc --version</c>.</summary>
    private static readonly Lazy<string> RuntimeVersion = new(() =>
    {
        try
        {
            var (code, output) = Host.RunAsync("runc", ["--version"]).GetAwaiter().GetResult();
            // "runc version 1.1.5+ds1" -> 1.1.5
            var first = output.Split('\n')[0].Split(' ');
            return code == 0 && first.Length >= 3 ? $"runc://{first[2].Split('+')[0]}" : "runc://unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "runc://unknown";
        }
    });

    private static string ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
