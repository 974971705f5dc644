using k8s.Models;

namespace LocalCluster.Controllers.Autoscaling;

/// <summary>
/// HPA conditions as the controller sets them (kubernetes <c>pkg/controller/podautoscaler/horizontal.go</c>,
/// <c>setConditionInList</c>): added at the end of the list when absent; the transition time moves
/// only when the status changes; reason and message are always replaced.
/// </summary>
internal static class AutoscalerConditions
{
    /// <summary>Sets the condition of <paramref name="type"/> in <paramref name="status"/>.</summary>
    public static void Set(V2HorizontalPodAutoscalerStatus status, string type, string value, string reason, string message, DateTime now)
    {
        status.Conditions ??= [];
        var existing = status.Conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            existing = new V2HorizontalPodAutoscalerCondition { Type = type };
            status.Conditions.Add(existing);
        }
        if (existing.Status != value) existing.LastTransitionTime = now;
        existing.Status = value;
        existing.Reason = reason;
        existing.Message = message;
    }
}
