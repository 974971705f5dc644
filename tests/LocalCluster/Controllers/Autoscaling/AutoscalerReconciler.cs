using System.Globalization;
using k8s;
using k8s.Models;
using KubeApiFake;
using LocalCluster.Metrics;

namespace LocalCluster.Controllers.Autoscaling;

/// <summary>Settings of the HPA controller (kube-controller-manager's <c>--horizontal-pod-autoscaler-*</c> flags).</summary>
internal sealed record AutoscalerOptions
{
    /// <summary>How often each autoscaler is reconciled (<c>--horizontal-pod-autoscaler-sync-period</c>, 15 s).</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Window of the highest recommendation a scale down keeps (<c>--horizontal-pod-autoscaler-downscale-stabilization</c>, 5 min).</summary>
    public TimeSpan DownscaleStabilizationWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Ratio change below which nothing is scaled (<c>--horizontal-pod-autoscaler-tolerance</c>, 0.1).</summary>
    public double Tolerance { get; init; } = 0.1;

    /// <summary><c>--horizontal-pod-autoscaler-cpu-initialization-period</c>, 5 min.</summary>
    public TimeSpan CpuInitializationPeriod { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>--horizontal-pod-autoscaler-initial-readiness-delay</c>, 30 s.</summary>
    public TimeSpan InitialReadinessDelay { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>An Event the HPA controller records about the autoscaler.</summary>
/// <param name="Type"><c>Normal</c> or <c>Warning</c>.</param>
/// <param name="Reason">Its reason, e.g. <c>SuccessfulRescale</c>.</param>
/// <param name="Message">Its message.</param>
internal sealed record AutoscalerEvent(string Type, string Reason, string Message);

/// <summary>What one reconcile decided, before the scale is written.</summary>
internal sealed class AutoscalerPlan
{
    /// <summary>The autoscaler whose status is being rebuilt (a copy; conditions already set).</summary>
    public required V2HorizontalPodAutoscaler Hpa { get; init; }

    /// <summary>The status it had, to write only a changed one.</summary>
    public required string OriginalStatus { get; init; }

    /// <summary><c>scale.spec.replicas</c>.</summary>
    public int CurrentReplicas { get; init; }

    /// <summary>The replicas to scale to.</summary>
    public int DesiredReplicas { get; set; }

    /// <summary>Whether to write the scale.</summary>
    public bool Rescale { get; init; }

    /// <summary>Why (for the SuccessfulRescale Event).</summary>
    public string RescaleReason { get; init; } = "";

    /// <summary>The metrics' statuses (<c>status.currentMetrics</c>).</summary>
    public IList<V2MetricStatus>? Metrics { get; init; }

    /// <summary>Events to record.</summary>
    public List<AutoscalerEvent> Events { get; } = [];

    /// <summary>The reconcile's error, logged by the loop, or null.</summary>
    public string? Error { get; set; }

    /// <summary>True when the plan already holds its final status (an error before any scaling decision).</summary>
    public bool Done { get; init; }
}

/// <summary>
/// One reconcile of a HorizontalPodAutoscaler, as a pure function of the autoscaler, its target's
/// <c>Scale</c>, the namespace's Pods and usage samples, the time, and the autoscaler's
/// <see cref="ScalingHistory"/> (kubernetes <c>pkg/controller/podautoscaler/horizontal.go</c>,
/// <c>reconcileAutoscaler</c>, <c>computeReplicasForMetrics</c>, <c>computeStatusForResourceMetric</c>,
/// <c>validateAndParseSelector</c>, <c>setStatus</c>), for Resource metrics (cpu, memory;
/// Utilization and AverageValue). <see cref="Plan"/> decides; the loop writes the scale and
/// reports the outcome to <see cref="Finish"/>, which completes the status and the Events:
/// <list type="bullet">
/// <item>AbleToScale: SucceededGetScale, then ReadyForNewScale / ScaleUpStabilized /
/// ScaleDownStabilized, then SucceededRescale or FailedUpdateScale; FailedGetScale when the scale
/// cannot be read (<see cref="FailedGetScale"/>);</item>
/// <item>ScalingActive: ValidMetricFound, FailedGetResourceMetric (with the metric's error),
/// InvalidSelector, AmbiguousSelector, ScalingDisabled (target at 0 replicas);</item>
/// <item>ScalingLimited: DesiredWithinRange, TooManyReplicas, TooFewReplicas, ScaleUpLimit, ScaleDownLimit;</item>
/// <item>a target outside min/max replicas is brought back first ("Current number of replicas
/// above Spec.MaxReplicas" / "below Spec.MinReplicas");</item>
/// <item>status: currentReplicas, desiredReplicas, currentMetrics (an empty entry for a metric that
/// failed), lastScaleTime when it scaled; written only when it changed.</item>
/// </list>
/// </summary>
internal sealed class AutoscalerReconciler(AutoscalerOptions options)
{
    private readonly ReplicaCalculator _calculator = new(options.Tolerance, options.CpuInitializationPeriod, options.InitialReadinessDelay);
    private readonly ScalingRules _rules = new(options.DownscaleStabilizationWindow);

    /// <summary>Decides the replicas. <paramref name="samples"/> is null when the metrics could not be read (<paramref name="samplesError"/> says why).</summary>
    /// <param name="hpa">The autoscaler.</param>
    /// <param name="scale">Its target's scale.</param>
    /// <param name="pods">The Pods of the autoscaler's namespace.</param>
    /// <param name="samples">The usage samples of the namespace's Pods, or null.</param>
    /// <param name="samplesError">Why the samples could not be read.</param>
    /// <param name="otherSelectors">The selectors other autoscalers of the namespace use, by name (for AmbiguousSelector).</param>
    /// <param name="history">This autoscaler's history (updated).</param>
    /// <param name="now">The time.</param>
    public AutoscalerPlan Plan(V2HorizontalPodAutoscaler hpa, V1Scale scale, IReadOnlyList<V1Pod> pods, IReadOnlyList<PodUsage>? samples, string? samplesError,
        IReadOnlyDictionary<string, string> otherSelectors, ScalingHistory history, DateTime now)
    {
        var copy = KubernetesJson.Deserialize<V2HorizontalPodAutoscaler>(KubernetesJson.Serialize(hpa));
        copy.ApiVersion ??= "autoscaling/v2";
        copy.Kind ??= "HorizontalPodAutoscaler";
        copy.Status ??= new V2HorizontalPodAutoscalerStatus();
        var original = KubernetesJson.Serialize(hpa.Status ?? new V2HorizontalPodAutoscalerStatus());
        var status = copy.Status;
        AutoscalerConditions.Set(status, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", now);
        var current = scale.Spec?.Replicas ?? 0;
        if (history.Recommendations.Count == 0) history.Recommendations.Add((current, now));
        var min = copy.Spec.MinReplicas ?? 1;
        var max = copy.Spec.MaxReplicas;
        if (copy.Spec.Metrics is not { Count: > 0 })
        {
            // The API server's default (pkg/apis/autoscaling/v2/defaults.go): CPU at 80 % utilization.
            copy.Spec.Metrics = [new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = 80 } } }];
        }

        if (current == 0 && min != 0)
        {
            AutoscalerConditions.Set(status, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now);
            return new AutoscalerPlan { Hpa = copy, OriginalStatus = original, CurrentReplicas = current, DesiredReplicas = 0, Rescale = false };
        }
        if (current > max) return new AutoscalerPlan { Hpa = copy, OriginalStatus = original, CurrentReplicas = current, DesiredReplicas = max, Rescale = true, RescaleReason = "Current number of replicas above Spec.MaxReplicas" };
        if (current < min) return new AutoscalerPlan { Hpa = copy, OriginalStatus = original, CurrentReplicas = current, DesiredReplicas = min, Rescale = true, RescaleReason = "Current number of replicas below Spec.MinReplicas" };

        var events = new List<AutoscalerEvent>();
        var (proposal, metricName, statuses, error) = ComputeReplicasForMetrics(copy, scale, pods, samples, samplesError, otherSelectors, events, now);
        if (error is not null && proposal == -1)
        {
            SetStatus(status, current, status.DesiredReplicas, statuses, rescaled: false, now);
            events.Add(new("Warning", "FailedComputeMetricsReplicas", error));
            var failed = new AutoscalerPlan
            {
                Hpa = copy, OriginalStatus = original, CurrentReplicas = current, DesiredReplicas = current, Metrics = statuses, Done = true,
                Error = $"failed to compute desired number of replicas based on listed metrics for {copy.Spec.ScaleTargetRef.Kind}/{copy.Metadata.NamespaceProperty}/{copy.Spec.ScaleTargetRef.Name}: {error}",
            };
            failed.Events.AddRange(events);
            return failed;
        }

        var desired = 0;
        var rescaleMetric = "";
        if (proposal > desired)
        {
            desired = proposal;
            rescaleMetric = metricName;
        }
        var reason = desired > current ? $"{rescaleMetric} above target" : desired < current ? "All metrics below target" : "";
        var behavior = ScalingRules.WithDefaults(copy.Spec.Behavior);
        var normalized = behavior is null
            ? _rules.Legacy(history, current, desired, min, max, now)
            : _rules.WithBehavior(history, behavior, current, desired, min, max, now);
        AutoscalerConditions.Set(status, "AbleToScale", "True", normalized.AbleReason, normalized.AbleMessage, now);
        AutoscalerConditions.Set(status, "ScalingLimited", normalized.Limited ? "True" : "False", normalized.LimitedReason, normalized.LimitedMessage, now);
        var plan = new AutoscalerPlan
        {
            Hpa = copy, OriginalStatus = original, CurrentReplicas = current, DesiredReplicas = normalized.Replicas,
            Rescale = normalized.Replicas != current, RescaleReason = reason, Metrics = statuses,
            Error = error is null ? null : error,
        };
        plan.Events.AddRange(events);
        return plan;
    }

    /// <summary>
    /// Completes the plan once the scale was written (<paramref name="scaleError"/> null) or failed:
    /// conditions, Events, history and status. Returns the status to write, or null when it did not change.
    /// </summary>
    public V2HorizontalPodAutoscalerStatus? Finish(AutoscalerPlan plan, ScalingHistory history, string? scaleError, DateTime now)
    {
        var hpa = plan.Hpa;
        var status = hpa.Status;
        if (!plan.Done)
        {
            if (plan.Rescale && scaleError is not null)
            {
                plan.Events.Add(new("Warning", "FailedRescale", $"New size: {plan.DesiredReplicas}; reason: {plan.RescaleReason}; error: {scaleError}"));
                AutoscalerConditions.Set(status, "AbleToScale", "False", "FailedUpdateScale", $"the HPA controller was unable to update the target scale: {scaleError}", now);
                SetStatus(status, plan.CurrentReplicas, status.DesiredReplicas, plan.Metrics, rescaled: false, now);
                plan.Error = $"failed to rescale {hpa.Spec.ScaleTargetRef.Kind}/{hpa.Metadata.NamespaceProperty}/{hpa.Spec.ScaleTargetRef.Name}: {scaleError}";
            }
            else if (plan.Rescale)
            {
                AutoscalerConditions.Set(status, "AbleToScale", "True", "SucceededRescale", $"the HPA controller was able to update the target scale to {plan.DesiredReplicas}", now);
                plan.Events.Add(new("Normal", "SuccessfulRescale", $"New size: {plan.DesiredReplicas}; reason: {plan.RescaleReason}"));
                ScalingRules.Record(history, ScalingRules.WithDefaults(hpa.Spec.Behavior), plan.CurrentReplicas, plan.DesiredReplicas, now);
                SetStatus(status, plan.CurrentReplicas, plan.DesiredReplicas, plan.Metrics, rescaled: true, now);
            }
            else
            {
                SetStatus(status, plan.CurrentReplicas, plan.CurrentReplicas, plan.Metrics, rescaled: false, now);
            }
        }
        return KubernetesJson.Serialize(status) == plan.OriginalStatus ? null : status;
    }

    /// <summary>The status when the target's scale cannot be read (AbleToScale False/FailedGetScale), or null when unchanged.</summary>
    public static V2HorizontalPodAutoscalerStatus? FailedGetScale(V2HorizontalPodAutoscaler hpa, string error, DateTime now)
    {
        var status = KubernetesJson.Deserialize<V2HorizontalPodAutoscalerStatus>(KubernetesJson.Serialize(hpa.Status ?? new V2HorizontalPodAutoscalerStatus()));
        var original = KubernetesJson.Serialize(hpa.Status ?? new V2HorizontalPodAutoscalerStatus());
        AutoscalerConditions.Set(status, "AbleToScale", "False", "FailedGetScale", $"the HPA controller was unable to get the target's current scale: {error}", now);
        return KubernetesJson.Serialize(status) == original ? null : status;
    }

    private static void SetStatus(V2HorizontalPodAutoscalerStatus status, int current, int? desired, IList<V2MetricStatus>? metrics, bool rescaled, DateTime now)
    {
        status.CurrentReplicas = current;
        status.DesiredReplicas = desired ?? 0;
        status.CurrentMetrics = metrics;
        if (rescaled) status.LastScaleTime = now;
    }

    /// <summary><c>computeReplicasForMetrics</c>: the largest proposal; -1 with an error when every metric failed, or some failed and the rest would scale down.</summary>
    private (int Replicas, string Metric, List<V2MetricStatus> Statuses, string? Error) ComputeReplicasForMetrics(
        V2HorizontalPodAutoscaler hpa, V1Scale scale, IReadOnlyList<V1Pod> pods, IReadOnlyList<PodUsage>? samples, string? samplesError,
        IReadOnlyDictionary<string, string> otherSelectors, List<AutoscalerEvent> events, DateTime now)
    {
        var status = hpa.Status;
        var specs = hpa.Spec.Metrics ?? [];
        var statuses = specs.Select(_ => new V2MetricStatus { Type = "" }).ToList();
        var selectorText = scale.Status?.Selector;
        if (string.IsNullOrEmpty(selectorText))
        {
            events.Add(new("Warning", "SelectorRequired", "selector is required"));
            AutoscalerConditions.Set(status, "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector", now);
            return (-1, "", [], "selector is required");
        }
        LabelSelector selector;
        try
        {
            selector = LabelSelector.Parse(selectorText);
        }
        catch (FormatException e)
        {
            var message = $"couldn't convert selector into a corresponding internal selector object: {e.Message}";
            events.Add(new("Warning", "InvalidSelector", message));
            AutoscalerConditions.Set(status, "ScalingActive", "False", "InvalidSelector", message, now);
            return (-1, "", [], message);
        }
        var selected = pods.Where(p => selector.Matches(Labels(p))).ToList();
        var controlling = otherSelectors.Where(o => selected.Any(p => Matches(o.Value, p))).Select(o => o.Key).ToList();
        if (controlling.Count > 0)
        {
            var names = string.Join(" ", new[] { hpa.Metadata.Name }.Concat(controlling).Order(StringComparer.Ordinal).Select(n => $"{hpa.Metadata.NamespaceProperty}/{n}"));
            var message = $"pods by selector {selectorText} are controlled by multiple HPAs: [{names}]";
            events.Add(new("Warning", "AmbiguousSelector", message));
            AutoscalerConditions.Set(status, "ScalingActive", "False", "AmbiguousSelector", message, now);
            return (-1, "", [], message);
        }

        var selectedNames = selected.Select(p => p.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        var selectedSamples = samples?.Where(s => selectedNames.Contains(s.Name)).ToList();
        var replicas = 0;
        var metric = "";
        var invalid = 0;
        string? firstError = null;
        (string Reason, string Message)? firstCondition = null;
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (spec.Type != "Resource" || spec.Resource is null)
            {
                var unsupported = $"unsupported metric source type \"{spec.Type}\" (the local cluster serves Resource metrics only)";
                events.Add(new("Warning", "InvalidMetricSourceType", unsupported));
                if (invalid++ == 0) (firstError, firstCondition) = (unsupported, ("InvalidMetricSourceType", $"the HPA was unable to compute the replica count: {unsupported}"));
                continue;
            }
            try
            {
                var (proposal, name, current) = ResourceMetric(spec.Resource, scale.Spec?.Replicas ?? 0, selected, selectedSamples, samplesError, now);
                statuses[i] = new V2MetricStatus { Type = "Resource", Resource = new V2ResourceMetricStatus { Name = spec.Resource.Name, Current = current } };
                if (replicas == 0 || proposal > replicas)
                {
                    replicas = proposal;
                    metric = name;
                }
            }
            catch (ReplicaCalculationException e)
            {
                events.Add(new("Warning", "FailedGetResourceMetric", e.Message));
                if (invalid++ == 0)
                {
                    firstError = $"failed to get {spec.Resource.Name} resource metric value: {e.Message}";
                    firstCondition = ("FailedGetResourceMetric", $"the HPA was unable to compute the replica count: {e.Message}");
                }
            }
        }
        string? error = firstError is null ? null : $"invalid metrics ({invalid} invalid out of {specs.Count}), first error is: {firstError}";
        if (invalid >= specs.Count || (invalid > 0 && replicas < (scale.Spec?.Replicas ?? 0)))
        {
            if (firstCondition is { } c) AutoscalerConditions.Set(status, "ScalingActive", "False", c.Reason, c.Message, now);
            return (-1, "", statuses, error ?? "no metrics to compute a replica count from");
        }
        AutoscalerConditions.Set(status, "ScalingActive", "True", "ValidMetricFound", $"the HPA was able to successfully calculate a replica count from {metric}", now);
        return (replicas, metric, statuses, error);
    }

    /// <summary><c>computeStatusForResourceMetricGeneric</c>: the proposal, the metric's name for messages, and its current value.</summary>
    private (int Replicas, string Name, V2MetricValueStatus Current) ResourceMetric(V2ResourceMetricSource source, int current, IReadOnlyList<V1Pod> pods,
        IReadOnlyList<PodUsage>? samples, string? samplesError, DateTime now)
    {
        var resource = source.Name;
        var target = source.Target;
        if (target.AverageValue is { } average)
        {
            var (metrics, timestamp) = Fetch(resource, samples, samplesError, usage: true);
            try
            {
                var p = _calculator.RawResourceReplicas(current, Objects.Quantities.MilliValue(average), resource, pods, metrics, timestamp, now);
                return (p.Replicas, $"{resource} resource", new V2MetricValueStatus { AverageValue = new ResourceQuantity(Objects.Quantities.FormatMilli(p.RawAverage)) });
            }
            catch (ReplicaCalculationException e)
            {
                throw new ReplicaCalculationException($"failed to get {resource} usage: {e.Message}");
            }
        }
        if (target.AverageUtilization is not { } utilization)
        {
            throw new ReplicaCalculationException("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set");
        }
        var (m, t) = Fetch(resource, samples, samplesError, usage: false);
        try
        {
            var p = _calculator.ResourceReplicas(current, utilization, resource, pods, m, t, now);
            return (p.Replicas, $"{resource} resource utilization (percentage of request)",
                new V2MetricValueStatus { AverageUtilization = p.Utilization, AverageValue = new ResourceQuantity(Objects.Quantities.FormatMilli(p.RawAverage)) });
        }
        catch (ReplicaCalculationException e)
        {
            throw new ReplicaCalculationException($"failed to get {resource} utilization: {e.Message}");
        }
    }

    /// <summary><c>GetResourceMetric</c> and its error wording.</summary>
    private static (Dictionary<string, PodMetric> Metrics, DateTime Timestamp) Fetch(string resource, IReadOnlyList<PodUsage>? samples, string? samplesError, bool usage)
    {
        try
        {
            if (samples is null) throw new ReplicaCalculationException($"unable to fetch metrics from resource metrics API: {samplesError}");
            return ReplicaCalculator.PodMetrics(samples, resource);
        }
        catch (ReplicaCalculationException e)
        {
            var what = usage ? "usage" : "utilization";
            throw new ReplicaCalculationException($"failed to get {resource} {what}: unable to get metrics for resource {resource}: {e.Message}");
        }
    }

    private static Dictionary<string, string> Labels(V1Pod pod) => new(pod.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);

    private static bool Matches(string selector, V1Pod pod)
    {
        try
        {
            return LabelSelector.Parse(selector).Matches(Labels(pod));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The key of an autoscaler in the history (<c>namespace/name</c>).</summary>
    public static string Key(V2HorizontalPodAutoscaler hpa) => string.Create(CultureInfo.InvariantCulture, $"{hpa.Metadata.NamespaceProperty}/{hpa.Metadata.Name}");
}
