using k8s.Models;

namespace UserApiOperator.Controllers;

/// <summary>
/// Condition types, statuses and reasons of a UserApi, and the rule for merging a new condition
/// into a list (Kubernetes API conventions, "Typical status properties"; apimachinery's
/// <c>meta.SetStatusCondition</c>): <c>lastTransitionTime</c> changes only when the status changes.
/// </summary>
public static class Conditions
{
    /// <summary>The API serves traffic: every desired Pod is ready on the current spec.</summary>
    public const string Ready = "Ready";

    /// <summary>The operator or the Deployment is working towards the desired state.</summary>
    public const string Progressing = "Progressing";

    /// <summary>The desired state cannot be reached without a change by the user (bad spec, missing Secret, failed rollout).</summary>
    public const string Degraded = "Degraded";

    /// <summary>Condition status <c>True</c>.</summary>
    public const string True = "True";

    /// <summary>Condition status <c>False</c>.</summary>
    public const string False = "False";

    /// <summary>
    /// <paramref name="conditions"/> with <paramref name="condition"/> set: a new type is added; an
    /// existing one is replaced, keeping its <c>lastTransitionTime</c> when its status is unchanged.
    /// The order of types is kept.
    /// </summary>
    public static List<V1Condition> Set(IEnumerable<V1Condition>? conditions, V1Condition condition)
    {
        var result = conditions?.ToList() ?? [];
        var index = result.FindIndex(c => c.Type == condition.Type);
        if (index < 0)
        {
            result.Add(condition);
            return result;
        }

        result[index] = result[index].Status == condition.Status
            ? condition with { LastTransitionTime = result[index].LastTransitionTime }
            : condition;
        return result;
    }

    /// <summary>The condition of <paramref name="type"/> in <paramref name="conditions"/>, or null.</summary>
    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);
}
