using k8s.Models;

namespace LocalCluster.Controllers;

/// <summary>
/// <c>metav1.Condition</c> lists as apimachinery's <c>meta.SetStatusCondition</c> keeps them
/// (<c>staging/src/k8s.io/apimachinery/pkg/api/meta/conditions.go</c>): a new condition is added
/// with the given transition time; an existing one changes its transition time only when its
/// status changes, and always takes the new reason, message and observedGeneration.
/// </summary>
internal static class Conditions
{
    /// <summary>Sets <paramref name="condition"/> in <paramref name="conditions"/>; returns true when anything changed.</summary>
    public static bool Set(IList<V1Condition> conditions, V1Condition condition, DateTime now)
    {
        var existing = conditions.FirstOrDefault(c => c.Type == condition.Type);
        if (existing is null)
        {
            condition.LastTransitionTime = condition.LastTransitionTime == default ? now : condition.LastTransitionTime;
            conditions.Add(condition);
            return true;
        }
        var changed = false;
        if (existing.Status != condition.Status)
        {
            existing.Status = condition.Status;
            existing.LastTransitionTime = condition.LastTransitionTime == default ? now : condition.LastTransitionTime;
            changed = true;
        }
        if (existing.Reason != condition.Reason)
        {
            existing.Reason = condition.Reason;
            changed = true;
        }
        if ((existing.Message ?? "") != (condition.Message ?? ""))
        {
            existing.Message = condition.Message ?? "";
            changed = true;
        }
        if (existing.ObservedGeneration != condition.ObservedGeneration)
        {
            existing.ObservedGeneration = condition.ObservedGeneration;
            changed = true;
        }
        return changed;
    }
}
