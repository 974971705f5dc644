using k8s.Models;
using LocalCluster.Objects;

namespace LocalCluster.Scheduler;

/// <summary>
/// Compute resources in the scheduler's units: CPU in millicores, memory and ephemeral storage in
/// bytes, the number of Pods a node allows (kubernetes <c>pkg/scheduler/framework/types.go</c>,
/// <c>Resource</c>).
/// </summary>
/// <param name="MilliCpu">CPU in thousandths of a core.</param>
/// <param name="Memory">Memory in bytes.</param>
/// <param name="EphemeralStorage">Ephemeral storage in bytes.</param>
/// <param name="AllowedPods">Pods a node accepts (<c>allocatable.pods</c>); 0 for a Pod's request.</param>
internal readonly record struct Resources(long MilliCpu, long Memory, long EphemeralStorage, long AllowedPods)
{
    /// <summary>The sum of two resource vectors.</summary>
    public static Resources operator +(Resources a, Resources b) =>
        new(a.MilliCpu + b.MilliCpu, a.Memory + b.Memory, a.EphemeralStorage + b.EphemeralStorage, a.AllowedPods + b.AllowedPods);

    /// <summary>The largest of each dimension.</summary>
    public static Resources Max(Resources a, Resources b) =>
        new(Math.Max(a.MilliCpu, b.MilliCpu), Math.Max(a.Memory, b.Memory), Math.Max(a.EphemeralStorage, b.EphemeralStorage), Math.Max(a.AllowedPods, b.AllowedPods));

    /// <summary>A resource list (<c>allocatable</c>, <c>requests</c>) in the scheduler's units; missing names count 0.</summary>
    public static Resources From(IDictionary<string, ResourceQuantity>? list) => new(
        Quantities.MilliValue(list, "cpu") ?? 0,
        Quantities.Value(list, "memory") ?? 0,
        Quantities.Value(list, "ephemeral-storage") ?? 0,
        Quantities.Value(list, "pods") ?? 0);

    /// <summary>Is every dimension zero (a best-effort Pod)?</summary>
    public bool IsZero => MilliCpu == 0 && Memory == 0 && EphemeralStorage == 0;
}

/// <summary>
/// What a Pod requests, as kube-scheduler adds it up (kubernetes
/// <c>staging/src/k8s.io/component-helpers/resource/helpers.go</c>, <c>PodRequests</c>): the sum of
/// the containers' requests, restartable (sidecar) init containers included, against the largest
/// init container (plus the sidecars started before it), plus the Pod overhead. The "non-zero"
/// variant counts a container without a CPU or memory request as 100m or 200Mi
/// (<c>pkg/scheduler/util/pod_resources.go</c>, <c>DefaultMilliCPURequest</c>,
/// <c>DefaultMemoryRequest</c>), as the scoring plugins do.
/// </summary>
internal static class PodResources
{
    /// <summary>CPU counted for a container with no CPU request when scoring: 100 millicores.</summary>
    public const long DefaultMilliCpuRequest = 100;

    /// <summary>Memory counted for a container with no memory request when scoring: 200 MiB.</summary>
    public const long DefaultMemoryRequest = 200L * 1024 * 1024;

    /// <summary>The Pod's requests (<c>NodeInfo.Requested</c> and the fit check use these).</summary>
    public static Resources Requests(V1Pod pod) => Compute(pod, nonZero: false);

    /// <summary>The Pod's requests with defaults for missing CPU and memory requests (<c>NodeInfo.NonZeroRequested</c>).</summary>
    public static Resources NonZeroRequests(V1Pod pod) => Compute(pod, nonZero: true);

    private static Resources Compute(V1Pod pod, bool nonZero)
    {
        var spec = pod.Spec;
        var sum = default(Resources);
        foreach (var c in spec?.Containers ?? []) sum += Container(c, nonZero);
        var restartable = default(Resources);
        var init = default(Resources);
        foreach (var c in spec?.InitContainers ?? [])
        {
            var r = Container(c, nonZero);
            Resources candidate;
            if (c.RestartPolicy == "Always")
            {
                sum += r;
                restartable += r;
                candidate = restartable;
            }
            else
            {
                candidate = r + restartable;
            }
            init = Resources.Max(init, candidate);
        }
        var total = Resources.Max(sum, init);
        if (spec?.Overhead is { } overhead) total += Resources.From(overhead) with { AllowedPods = 0 };
        return total with { AllowedPods = 0 };
    }

    private static Resources Container(V1Container c, bool nonZero)
    {
        var requests = c.Resources?.Requests;
        var r = Resources.From(requests) with { AllowedPods = 0 };
        if (nonZero)
        {
            if (Quantities.MilliValue(requests, "cpu") is null) r = r with { MilliCpu = DefaultMilliCpuRequest };
            if (Quantities.Value(requests, "memory") is null) r = r with { Memory = DefaultMemoryRequest };
        }
        return r;
    }
}
