using System.Globalization;
using k8s.Models;
using UserApiOperator.Entities;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the PodDisruptionBudget of a UserApi (<c>spec.disruptionBudget</c>).</summary>
public static class PodDisruptionBudgetBuilder
{
    /// <summary>
    /// PodDisruptionBudget <c>&lt;name&gt;</c> (policy/v1) over the UserApi's Pods (the selector
    /// labels) with <c>minAvailable</c> when set, else <c>maxUnavailable</c> (1 when unset). Null, so
    /// that none exists, when <c>spec.disruptionBudget.enabled</c> is false, when fewer than two
    /// replicas are desired (<c>spec.replicas</c>, which the autoscaler sets while it is on), or when
    /// the budget would allow no eviction at all with every desired Pod ready: it would then block
    /// every node drain (<see cref="AllowedDisruptions"/>).
    /// </summary>
    public static V1PodDisruptionBudget? Build(V1Alpha1UserApi userApi)
    {
        ArgumentNullException.ThrowIfNull(userApi);
        var budget = userApi.Spec.DisruptionBudget;
        var replicas = userApi.Spec.Replicas;
        if (!budget.Enabled || replicas < 2)
        {
            return null;
        }

        var minAvailable = budget.MinAvailable;
        var maxUnavailable = minAvailable is null ? budget.MaxUnavailable ?? (IntOrString)1 : null;
        if (AllowedDisruptions(replicas, minAvailable, maxUnavailable) < 1)
        {
            return null;
        }

        return new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi)),
            Spec = new V1PodDisruptionBudgetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = UserApiLabels.Selector(userApi) },
                MinAvailable = minAvailable,
                MaxUnavailable = maxUnavailable,
            },
        };
    }

    /// <summary>
    /// Evictions the budget allows when all <paramref name="replicas"/> Pods are healthy, computed as
    /// the disruption controller does (kubernetes/kubernetes pkg/controller/disruption/disruption.go,
    /// <c>getExpectedPodCount</c>: percentages of the expected count rounded up, for minAvailable and
    /// maxUnavailable alike): <c>replicas - minAvailable</c>, or <c>maxUnavailable</c>, never below 0.
    /// </summary>
    /// <param name="replicas">Pods expected (the scale of their controller).</param>
    /// <param name="minAvailable">A count or a percentage, or null.</param>
    /// <param name="maxUnavailable">A count or a percentage, or null (used when <paramref name="minAvailable"/> is null).</param>
    public static int AllowedDisruptions(int replicas, IntOrString? minAvailable, IntOrString? maxUnavailable) =>
        minAvailable is not null ? Math.Max(0, replicas - Scaled(minAvailable, replicas))
        : maxUnavailable is not null ? Math.Min(replicas, Math.Max(0, Scaled(maxUnavailable, replicas)))
        : 0;

    /// <summary>A count as it is; a percentage <c>p%</c> of <paramref name="total"/> rounded up.</summary>
    private static int Scaled(IntOrString value, int total)
    {
        var text = value.Value ?? "0";
        return text.EndsWith('%')
            ? (int)Math.Ceiling(int.Parse(text[..^1], CultureInfo.InvariantCulture) * total / 100.0)
            : int.Parse(text, CultureInfo.InvariantCulture);
    }
}
