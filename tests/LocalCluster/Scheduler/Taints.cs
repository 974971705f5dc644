using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// Taints and tolerations as kubernetes matches them (<c>staging/src/k8s.io/api/core/v1/toleration.go</c>,
/// <c>Toleration.ToleratesTaint</c>; <c>staging/src/k8s.io/component-helpers/scheduling/corev1/helpers.go</c>,
/// <c>FindMatchingUntoleratedTaint</c>).
/// </summary>
internal static class Taints
{
    /// <summary>Key of the taint a cordoned node stands for (<c>node.kubernetes.io/unschedulable</c>).</summary>
    public const string Unschedulable = "node.kubernetes.io/unschedulable";

    /// <summary>
    /// Does <paramref name="toleration"/> tolerate <paramref name="taint"/>? An empty effect matches
    /// every effect, an empty key every key (with operator Exists); operator Equal (or empty) compares
    /// values, Exists ignores them; any other operator tolerates nothing.
    /// </summary>
    public static bool Tolerates(V1Toleration toleration, V1Taint taint)
    {
        if (!string.IsNullOrEmpty(toleration.Effect) && toleration.Effect != taint.Effect) return false;
        if (!string.IsNullOrEmpty(toleration.Key) && toleration.Key != taint.Key) return false;
        return toleration.OperatorProperty switch
        {
            null or "" or "Equal" => (toleration.Value ?? "") == (taint.Value ?? ""),
            "Exists" => true,
            _ => false,
        };
    }

    /// <summary>Does any of <paramref name="tolerations"/> tolerate <paramref name="taint"/>?</summary>
    public static bool Tolerated(IEnumerable<V1Toleration>? tolerations, V1Taint taint) =>
        tolerations?.Any(t => Tolerates(t, taint)) == true;

    /// <summary>The first taint that passes <paramref name="filter"/> and no toleration tolerates, or null.</summary>
    public static V1Taint? FirstUntolerated(IEnumerable<V1Taint>? taints, IEnumerable<V1Toleration>? tolerations, Func<V1Taint, bool> filter) =>
        taints?.FirstOrDefault(t => filter(t) && !Tolerated(tolerations, t));

    /// <summary>The taints that keep Pods off a node: effect NoSchedule or NoExecute (<c>helper.DoNotScheduleTaintsFilterFunc</c>).</summary>
    public static bool DoNotSchedule(V1Taint taint) => taint.Effect is "NoSchedule" or "NoExecute";
}
