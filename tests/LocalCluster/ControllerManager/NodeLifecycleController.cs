using k8s;
using k8s.Models;
using LocalCluster.Kubelet;

namespace LocalCluster.ControllerManager;

/// <summary>
/// The node lifecycle controller's health monitor (kubernetes
/// <c>pkg/controller/nodelifecycle/node_lifecycle_controller.go</c>, <c>monitorNodeHealth</c> and
/// <c>tryUpdateNodeHealth</c>): every <see cref="MonitorPeriod"/> (<c>--node-monitor-period</c>,
/// 5 s) each Node's last heartbeat is the later of its Ready condition's <c>lastHeartbeatTime</c> and
/// its Lease's <c>renewTime</c> in <c>kube-node-lease</c>; when that is older than the grace period
/// (<c>--node-monitor-grace-period</c>, 40 s by default, the kube-controller-manager default this
/// follows), every condition the kubelet posts (Ready, MemoryPressure, DiskPressure, PIDPressure) is
/// set to <c>Unknown</c> with reason <c>NodeStatusUnknown</c> and message <c>Kubelet stopped
/// posting node status.</c>, <c>lastTransitionTime</c> now, the heartbeat kept. A node that posts
/// again sets its conditions itself. The API server adds the <c>node.kubernetes.io/unreachable</c>
/// taint for a Ready condition Unknown (KubeApiFake's node lifecycle taints). Pod eviction from an
/// unreachable node (after 5 minutes of taint-based eviction) is not done.
/// </summary>
internal sealed class NodeLifecycleController(IKubernetes client, TimeSpan gracePeriod, Action<string>? log = null)
{
    /// <summary><c>--node-monitor-period</c>.</summary>
    public static readonly TimeSpan MonitorPeriod = TimeSpan.FromSeconds(5);

    /// <summary>The default <c>--node-monitor-grace-period</c>.</summary>
    public static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(40);

    private static readonly string[] KubeletConditions = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

    /// <summary>Monitors until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(MonitorPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    await MonitorAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log?.Invoke($"node-lifecycle: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over every Node.</summary>
    public async Task MonitorAsync(CancellationToken ct)
    {
        var now = DateTime.UtcNow;
        var leases = (await client.CoordinationV1.ListNamespacedLeaseAsync(NodeStatusManager.LeaseNamespace, cancellationToken: ct)).Items
            .ToDictionary(l => l.Metadata.Name, StringComparer.Ordinal);
        foreach (var node in (await client.CoreV1.ListNodeAsync(cancellationToken: ct)).Items)
        {
            var ready = node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
            if (ready is null || ready.Status == "Unknown") continue;
            var heartbeat = ready.LastHeartbeatTime ?? node.Metadata.CreationTimestamp ?? now;
            if (leases.TryGetValue(node.Metadata.Name, out var lease) && lease.Spec?.RenewTime is { } renewed && renewed > heartbeat) heartbeat = renewed;
            if (now - heartbeat <= gracePeriod) continue;

            var conditions = node.Status!.Conditions.Select(c => KubeletConditions.Contains(c.Type)
                ? new V1NodeCondition
                {
                    Type = c.Type,
                    Status = "Unknown",
                    Reason = "NodeStatusUnknown",
                    Message = "Kubelet stopped posting node status.",
                    LastHeartbeatTime = c.LastHeartbeatTime,
                    LastTransitionTime = now,
                }
                : c).ToList();
            var patch = new V1Patch(KubernetesJson.Serialize(new { status = new { conditions } }), V1Patch.PatchType.MergePatch);
            await client.CoreV1.PatchNodeStatusAsync(patch, node.Metadata.Name, cancellationToken: ct);
            log?.Invoke($"node-lifecycle: node {node.Metadata.Name}: no heartbeat for {(now - heartbeat).TotalSeconds:0} s (grace {gracePeriod.TotalSeconds:0} s): Ready Unknown");
        }
    }
}
