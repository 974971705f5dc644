using k8s.Models;
using LocalCluster.Metrics;
using LocalCluster.Objects;

namespace LocalCluster.Controllers.Autoscaling;

/// <summary>A Pod's metric as the HPA controller sees it: the sum over its containers, in thousandths, with the sample's time and window.</summary>
/// <param name="Value">CPU in millicores or memory in milli-bytes (the resource's MilliValue).</param>
/// <param name="Timestamp">End of the sample's window.</param>
/// <param name="Window">The sample's window.</param>
internal sealed record PodMetric(long Value, DateTime Timestamp, TimeSpan Window);

/// <summary>A replica count proposed for one metric.</summary>
/// <param name="Replicas">The proposal.</param>
/// <param name="Utilization">Average utilization in percent of the requests (null for an AverageValue target).</param>
/// <param name="RawAverage">Average raw value per Pod, in thousandths.</param>
/// <param name="Timestamp">The metrics' timestamp.</param>
internal sealed record ReplicaProposal(int Replicas, int? Utilization, long RawAverage, DateTime Timestamp);

/// <summary>Why a replica count could not be computed; the message is the controller's.</summary>
internal sealed class ReplicaCalculationException(string message) : Exception(message);

/// <summary>
/// The replica calculation of the HPA controller for Resource metrics (kubernetes
/// <c>pkg/controller/podautoscaler/replica_calculator.go</c>, <c>GetResourceReplicas</c>,
/// <c>GetRawResourceReplicas</c>, <c>calcPlainMetricReplicas</c>, <c>groupPods</c>,
/// <c>calculateRequests</c>; <c>metrics/utilization.go</c>, <c>GetResourceUtilizationRatio</c>,
/// <c>GetMetricUsageRatio</c>; <c>metrics/client.go</c>, <c>getPodMetrics</c>):
/// <list type="bullet">
/// <item>Pods being deleted or Failed are ignored; Pending Pods count as unready; Pods without a
/// sample are missing; for CPU, a Pod is unready when it has no Ready condition or start time,
/// or, within the CPU initialization period after its start, when it is not Ready or its sample
/// began before it became Ready, or, after that period, when it is not Ready and has never been
/// (its Ready condition changed within the initial readiness delay after its start);</item>
/// <item>utilization = Σ usage · 100 / Σ requests (integer division) over the Pods with a sample;
/// the usage ratio is utilization / target;</item>
/// <item>with no unready Pod to take into account and none missing: within the tolerance (±10 %)
/// the current replicas stay, else <c>ceil(ratio · ready Pods)</c>;</item>
/// <item>otherwise missing Pods count as using max(100 %, target) of their request on a scale down
/// and 0 on a scale up, unready Pods 0 on a scale up, the ratio is computed again, and the current
/// replicas stay when the new ratio is within tolerance or would reverse the direction; else
/// <c>ceil(new ratio · Pods counted)</c>, unless that reverses the direction.</item>
/// </list>
/// An AverageValue target uses the average raw value against the target in place of utilization,
/// and a missing Pod counts as using exactly the target on a scale down.
/// </summary>
internal sealed class ReplicaCalculator(double tolerance, TimeSpan cpuInitializationPeriod, TimeSpan delayOfInitialReadinessStatus)
{
    /// <summary>The controller's defaults: 10 % tolerance, 5 min CPU initialization period, 30 s initial readiness delay.</summary>
    public static readonly ReplicaCalculator Default = new(0.1, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(30));

    /// <summary>
    /// <c>getPodMetrics</c>: each sampled Pod's value for <paramref name="resource"/>, summed over its
    /// containers; a Pod with no container, or a container without the resource, has no value.
    /// </summary>
    /// <exception cref="ReplicaCalculationException">No sample at all ("no metrics returned from resource metrics API").</exception>
    public static (Dictionary<string, PodMetric> Metrics, DateTime Timestamp) PodMetrics(IReadOnlyList<PodUsage> samples, string resource)
    {
        if (samples.Count == 0) throw new ReplicaCalculationException("no metrics returned from resource metrics API");
        var metrics = new Dictionary<string, PodMetric>(StringComparer.Ordinal);
        foreach (var s in samples)
        {
            if (s.Containers.Count == 0) continue;
            long sum = 0;
            foreach (var c in s.Containers) sum += resource == "cpu" ? c.CpuMillicores : c.MemoryWorkingSetBytes * 1000;
            metrics[s.Name] = new PodMetric(sum, s.Timestamp.UtcDateTime, s.Window);
        }
        return (metrics, samples[0].Timestamp.UtcDateTime);
    }

    /// <summary><c>GetResourceReplicas</c>: the proposal for a Utilization target (percent of the requests).</summary>
    public ReplicaProposal ResourceReplicas(int currentReplicas, int targetUtilization, string resource, IReadOnlyList<V1Pod> pods,
        Dictionary<string, PodMetric> metrics, DateTime timestamp, DateTime now)
    {
        if (pods.Count == 0) throw new ReplicaCalculationException("no pods returned by selector while calculating replica count");
        metrics = new Dictionary<string, PodMetric>(metrics, StringComparer.Ordinal);
        var (readyCount, unready, missing, ignored) = GroupPods(pods, metrics, resource, now);
        foreach (var name in ignored.Concat(unready)) metrics.Remove(name);
        if (metrics.Count == 0) throw new ReplicaCalculationException("did not receive metrics for targeted pods (pods might be unready)");
        var requests = Requests(pods, resource);

        var (ratio, utilization, raw) = UtilizationRatio(metrics, requests, targetUtilization);
        var scaleUpWithUnready = unready.Count > 0 && ratio > 1.0;
        if (!scaleUpWithUnready && missing.Count == 0)
        {
            return Within(ratio)
                ? new(currentReplicas, utilization, raw, timestamp)
                : new((int)Math.Ceiling(ratio * readyCount), utilization, raw, timestamp);
        }
        // On a scale down a missing Pod counts as using max(100 %, target) of its request; on a scale up, nothing.
        var fallback = Math.Max(100, targetUtilization);
        foreach (var name in missing)
        {
            if (ratio < 1.0) metrics[name] = new PodMetric(requests[name] * fallback / 100, default, default);
            else if (ratio > 1.0) metrics[name] = new PodMetric(0, default, default);
        }
        if (scaleUpWithUnready)
        {
            foreach (var name in unready) metrics[name] = new PodMetric(0, default, default);
        }
        var (newRatio, _, _) = UtilizationRatio(metrics, requests, targetUtilization);
        return Settle(currentReplicas, ratio, newRatio, metrics.Count, utilization, raw, timestamp);
    }

    /// <summary><c>GetRawResourceReplicas</c>: the proposal for an AverageValue target (in thousandths).</summary>
    public ReplicaProposal RawResourceReplicas(int currentReplicas, long targetAverage, string resource, IReadOnlyList<V1Pod> pods,
        Dictionary<string, PodMetric> metrics, DateTime timestamp, DateTime now)
    {
        if (pods.Count == 0) throw new ReplicaCalculationException("no pods returned by selector while calculating replica count");
        metrics = new Dictionary<string, PodMetric>(metrics, StringComparer.Ordinal);
        var (readyCount, unready, missing, ignored) = GroupPods(pods, metrics, resource, now);
        foreach (var name in ignored.Concat(unready)) metrics.Remove(name);
        if (metrics.Count == 0) throw new ReplicaCalculationException("did not receive metrics for targeted pods (pods might be unready)");

        var (ratio, usage) = UsageRatio(metrics, targetAverage);
        var scaleUpWithUnready = unready.Count > 0 && ratio > 1.0;
        if (!scaleUpWithUnready && missing.Count == 0)
        {
            return Within(ratio)
                ? new(currentReplicas, null, usage, timestamp)
                : new((int)Math.Ceiling(ratio * readyCount), null, usage, timestamp);
        }
        foreach (var name in missing)
        {
            if (ratio < 1.0) metrics[name] = new PodMetric(targetAverage, default, default);
            else if (ratio > 1.0) metrics[name] = new PodMetric(0, default, default);
        }
        if (scaleUpWithUnready)
        {
            foreach (var name in unready) metrics[name] = new PodMetric(0, default, default);
        }
        var (newRatio, _) = UsageRatio(metrics, targetAverage);
        return Settle(currentReplicas, ratio, newRatio, metrics.Count, null, usage, timestamp);
    }

    private ReplicaProposal Settle(int current, double ratio, double newRatio, int counted, int? utilization, long raw, DateTime timestamp)
    {
        if (Within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0))
        {
            return new(current, utilization, raw, timestamp);
        }
        var replicas = (int)Math.Ceiling(newRatio * counted);
        if ((newRatio < 1.0 && replicas > current) || (newRatio > 1.0 && replicas < current)) return new(current, utilization, raw, timestamp);
        return new(replicas, utilization, raw, timestamp);
    }

    private bool Within(double ratio) => 1.0 - tolerance <= ratio && ratio <= 1.0 + tolerance;

    /// <summary><c>groupPods</c>.</summary>
    private (int Ready, HashSet<string> Unready, HashSet<string> Missing, HashSet<string> Ignored) GroupPods(
        IReadOnlyList<V1Pod> pods, Dictionary<string, PodMetric> metrics, string resource, DateTime now)
    {
        var ready = 0;
        HashSet<string> unready = new(StringComparer.Ordinal), missing = new(StringComparer.Ordinal), ignored = new(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var name = pod.Metadata.Name;
            if (pod.Metadata.DeletionTimestamp is not null || pod.Status?.Phase == "Failed")
            {
                ignored.Add(name);
                continue;
            }
            if (pod.Status?.Phase == "Pending")
            {
                unready.Add(name);
                continue;
            }
            if (!metrics.TryGetValue(name, out var metric))
            {
                missing.Add(name);
                continue;
            }
            if (resource == "cpu" && IsUnreadyForCpu(pod, metric, now))
            {
                unready.Add(name);
                continue;
            }
            ready++;
        }
        return (ready, unready, missing, ignored);
    }

    private bool IsUnreadyForCpu(V1Pod pod, PodMetric metric, DateTime now)
    {
        var condition = Pods.Condition(pod, "Ready");
        if (condition is null || pod.Status?.StartTime is not { } start) return true;
        var transition = condition.LastTransitionTime ?? default;
        if (start + cpuInitializationPeriod > now)
        {
            return condition.Status == "False" || metric.Timestamp < transition + metric.Window;
        }
        return condition.Status == "False" && start + delayOfInitialReadinessStatus > transition;
    }

    /// <summary><c>calculateRequests</c>: per Pod, the sum of its containers' (and sidecars') requests of the resource in thousandths.</summary>
    private static Dictionary<string, long> Requests(IReadOnlyList<V1Pod> pods, string resource)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var containers = (pod.Spec?.Containers ?? []).Concat((pod.Spec?.InitContainers ?? []).Where(c => c.RestartPolicy == "Always"));
            long sum = 0;
            foreach (var c in containers)
            {
                sum += Quantities.MilliValue(c.Resources?.Requests, resource)
                    ?? throw new ReplicaCalculationException($"missing request for {resource} in container {c.Name} of Pod {pod.Metadata.Name}");
            }
            result[pod.Metadata.Name] = sum;
        }
        return result;
    }

    /// <summary><c>GetResourceUtilizationRatio</c>.</summary>
    private static (double Ratio, int Utilization, long RawAverage) UtilizationRatio(Dictionary<string, PodMetric> metrics, Dictionary<string, long> requests, int target)
    {
        long metricsTotal = 0, requestsTotal = 0;
        var entries = 0;
        foreach (var (name, metric) in metrics)
        {
            if (!requests.TryGetValue(name, out var request)) continue;
            metricsTotal += metric.Value;
            requestsTotal += request;
            entries++;
        }
        if (requestsTotal == 0) throw new ReplicaCalculationException("no metrics returned matched known pods");
        var utilization = (int)(metricsTotal * 100 / requestsTotal);
        return ((double)utilization / target, utilization, metricsTotal / entries);
    }

    /// <summary><c>GetMetricUsageRatio</c>.</summary>
    private static (double Ratio, long Usage) UsageRatio(Dictionary<string, PodMetric> metrics, long target)
    {
        var usage = metrics.Values.Sum(m => m.Value) / metrics.Count;
        return ((double)usage / target, usage);
    }
}
