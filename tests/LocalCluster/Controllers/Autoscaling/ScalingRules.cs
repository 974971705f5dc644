using k8s;
using k8s.Models;

namespace LocalCluster.Controllers.Autoscaling;

/// <summary>
/// The normalization of a proposed replica count (kubernetes <c>pkg/controller/podautoscaler/horizontal.go</c>).
/// <para>Without <c>behavior</c> (<c>normalizeDesiredReplicas</c>): the highest recommendation of
/// the downscale stabilization window (5 minutes by default, the controller's
/// <c>--horizontal-pod-autoscaler-downscale-stabilization</c>) then min/max replicas and a scale-up
/// limit of max(2 × current, 4) (<c>convertDesiredReplicasWithRules</c>).</para>
/// <para>With <c>behavior</c> (<c>normalizeDesiredReplicasWithBehaviors</c>): the recommendation is
/// kept between the lowest of the scale-up window and the highest of the scale-down window
/// (<c>stabilizeRecommendationWithBehaviors</c>), then limited by the policies over their periods,
/// each policy's limit starting from the replicas at the start of its period, combined by
/// selectPolicy Max, Min or Disabled (<c>convertDesiredReplicasWithBehaviorRate</c>), then by
/// min/max replicas. The API server's defaults apply to a behavior that leaves fields out
/// (<c>pkg/apis/autoscaling/v2/defaults.go</c>): scale up with no window, Max of 4 Pods and 100 %
/// per 15 s; scale down Max of 100 % per 15 s, its window the controller's default.</para>
/// Each returns the replicas with the AbleToScale and ScalingLimited conditions' reasons and messages.
/// </summary>
internal sealed class ScalingRules(TimeSpan downscaleStabilizationWindow)
{
    /// <summary>The outcome of a normalization: replicas, and the reasons/messages of AbleToScale and ScalingLimited.</summary>
    internal sealed record Normalized(int Replicas, string AbleReason, string AbleMessage, bool Limited, string LimitedReason, string LimitedMessage);

    /// <summary>The behavior with the API server's defaults filled in (<c>SetDefaults_HorizontalPodAutoscalerBehavior</c>); null stays null.</summary>
    public static V2HorizontalPodAutoscalerBehavior? WithDefaults(V2HorizontalPodAutoscalerBehavior? behavior)
    {
        if (behavior is null) return null;
        var copy = KubernetesJson.Deserialize<V2HorizontalPodAutoscalerBehavior>(KubernetesJson.Serialize(behavior));
        copy.ScaleUp = Fill(copy.ScaleUp, new V2HPAScalingRules
        {
            StabilizationWindowSeconds = 0,
            SelectPolicy = "Max",
            Policies = [new V2HPAScalingPolicy { Type = "Pods", Value = 4, PeriodSeconds = 15 }, new V2HPAScalingPolicy { Type = "Percent", Value = 100, PeriodSeconds = 15 }],
        });
        copy.ScaleDown = Fill(copy.ScaleDown, new V2HPAScalingRules
        {
            StabilizationWindowSeconds = null,
            SelectPolicy = "Max",
            Policies = [new V2HPAScalingPolicy { Type = "Percent", Value = 100, PeriodSeconds = 15 }],
        });
        return copy;
    }

    /// <summary><c>normalizeDesiredReplicas</c>.</summary>
    public Normalized Legacy(ScalingHistory history, int current, int proposed, int min, int max, DateTime now)
    {
        var stabilized = proposed;
        var cutoff = now - downscaleStabilizationWindow;
        var oldIndex = -1;
        for (var i = 0; i < history.Recommendations.Count; i++)
        {
            var (replicas, at) = history.Recommendations[i];
            if (at < cutoff) oldIndex = i;
            else if (replicas > stabilized) stabilized = replicas;
        }
        if (oldIndex >= 0) history.Recommendations[oldIndex] = (proposed, now);
        else history.Recommendations.Add((proposed, now));

        var (ableReason, ableMessage) = stabilized != proposed
            ? ("ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
            : ("ReadyForNewScale", "recommended size matches current size");

        var scaleUpLimit = (int)Math.Max(2.0 * current, 4.0);
        var (maximum, reason, message) = max > scaleUpLimit
            ? (scaleUpLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
            : (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count");
        int desired;
        if (stabilized < min)
        {
            (desired, reason, message) = (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count");
        }
        else if (stabilized > maximum)
        {
            desired = maximum;
        }
        else
        {
            (desired, reason, message) = (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range");
        }
        return new(desired, ableReason, ableMessage, desired != stabilized, reason, message);
    }

    /// <summary><c>normalizeDesiredReplicasWithBehaviors</c>; <paramref name="behavior"/> must have its defaults (<see cref="WithDefaults"/>).</summary>
    public Normalized WithBehavior(ScalingHistory history, V2HorizontalPodAutoscalerBehavior behavior, int current, int proposed, int min, int max, DateTime now)
    {
        var up = behavior.ScaleUp;
        var down = behavior.ScaleDown;
        var downWindow = down.StabilizationWindowSeconds ?? (int)downscaleStabilizationWindow.TotalSeconds;

        // stabilizeRecommendationWithBehaviors
        var upCutoff = now.AddSeconds(-(up.StabilizationWindowSeconds ?? 0));
        var downCutoff = now.AddSeconds(-downWindow);
        int upRecommendation = proposed, downRecommendation = proposed;
        var oldIndex = -1;
        for (var i = 0; i < history.Recommendations.Count; i++)
        {
            var (replicas, at) = history.Recommendations[i];
            if (at > upCutoff) upRecommendation = Math.Min(replicas, upRecommendation);
            if (at > downCutoff) downRecommendation = Math.Max(replicas, downRecommendation);
            if (at < upCutoff && at < downCutoff) oldIndex = i;
        }
        var stabilized = Math.Min(Math.Max(current, upRecommendation), downRecommendation);
        if (oldIndex >= 0) history.Recommendations[oldIndex] = (proposed, now);
        else history.Recommendations.Add((proposed, now));
        var (ableReason, ableMessage) = stabilized == proposed
            ? ("ReadyForNewScale", "recommended size matches current size")
            : proposed >= current
                ? ("ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation")
                : ("ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation");

        // convertDesiredReplicasWithBehaviorRate
        var (desired, reason, message) = (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range");
        if (stabilized > current)
        {
            var limit = Math.Max(ScaleUpLimit(current, history, up, now), current);
            var (maximum, r, m) = max > limit
                ? (limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
                : (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count");
            if (stabilized > maximum) (desired, reason, message) = (maximum, r, m);
        }
        else if (stabilized < current)
        {
            var limit = Math.Min(ScaleDownLimit(current, history, down, now), current);
            var (minimum, r, m) = min < limit
                ? (limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
                : (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count");
            if (stabilized < minimum) (desired, reason, message) = (minimum, r, m);
        }
        return new(desired, ableReason, ableMessage, desired != stabilized, reason, message);
    }

    /// <summary><c>storeScaleEvent</c>: records a change the controller made (only with a behavior), reusing an outdated slot.</summary>
    public static void Record(ScalingHistory history, V2HorizontalPodAutoscalerBehavior? behavior, int previous, int replicas, DateTime now)
    {
        if (behavior is null) return;
        var (events, rules, change) = replicas > previous
            ? (history.ScaleUps, behavior.ScaleUp, replicas - previous)
            : (history.ScaleDowns, behavior.ScaleDown, previous - replicas);
        var longest = rules.Policies?.Max(p => (int?)p.PeriodSeconds) ?? 0;
        var cutoff = now.AddSeconds(-longest);
        var outdated = -1;
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].At < cutoff) events[i] = events[i] with { Outdated = true };
            if (events[i].Outdated) outdated = i;
        }
        var entry = new ScaleEvent(change, now);
        if (outdated >= 0) events[outdated] = entry;
        else events.Add(entry);
    }

    /// <summary><c>calculateScaleUpLimitWithScalingRules</c>.</summary>
    private static int ScaleUpLimit(int current, ScalingHistory history, V2HPAScalingRules rules, DateTime now)
    {
        if (rules.SelectPolicy == "Disabled") return current;
        var useMin = rules.SelectPolicy == "Min";
        var result = useMin ? int.MaxValue : int.MinValue;
        foreach (var policy in rules.Policies ?? [])
        {
            var start = current - ChangeWithin(history.ScaleUps, policy.PeriodSeconds, now) + ChangeWithin(history.ScaleDowns, policy.PeriodSeconds, now);
            var proposed = policy.Type == "Pods" ? start + policy.Value : (int)Math.Ceiling(start * (1 + policy.Value / 100.0));
            result = useMin ? Math.Min(result, proposed) : Math.Max(result, proposed);
        }
        return result;
    }

    /// <summary><c>calculateScaleDownLimitWithBehaviors</c>.</summary>
    private static int ScaleDownLimit(int current, ScalingHistory history, V2HPAScalingRules rules, DateTime now)
    {
        if (rules.SelectPolicy == "Disabled") return current;
        var useMin = rules.SelectPolicy == "Min";
        var result = useMin ? int.MinValue : int.MaxValue;
        foreach (var policy in rules.Policies ?? [])
        {
            var start = current - ChangeWithin(history.ScaleUps, policy.PeriodSeconds, now) + ChangeWithin(history.ScaleDowns, policy.PeriodSeconds, now);
            var proposed = policy.Type == "Pods" ? start - policy.Value : (int)(start * (1 - policy.Value / 100.0));
            result = useMin ? Math.Max(result, proposed) : Math.Min(result, proposed);
        }
        return result;
    }

    /// <summary><c>getReplicasChangePerPeriod</c>: the replicas changed after now - period.</summary>
    private static int ChangeWithin(List<ScaleEvent> events, int periodSeconds, DateTime now)
    {
        var cutoff = now.AddSeconds(-periodSeconds);
        return events.Where(e => e.At > cutoff).Sum(e => e.Change);
    }

    private static V2HPAScalingRules Fill(V2HPAScalingRules? given, V2HPAScalingRules defaults)
    {
        if (given is null) return defaults;
        if (given.SelectPolicy is not null) defaults.SelectPolicy = given.SelectPolicy;
        if (given.StabilizationWindowSeconds is not null) defaults.StabilizationWindowSeconds = given.StabilizationWindowSeconds;
        if (given.Policies is not null) defaults.Policies = given.Policies;
        if (given.Tolerance is not null) defaults.Tolerance = given.Tolerance;
        return defaults;
    }
}
