using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Crd;

namespace UserApiOperator.Validation;

/// <summary>
/// Cross-field rules of <c>spec.autoscaling</c> and <c>spec.disruptionBudget</c> that a single
/// field's schema cannot say, checked where the API server would reject the child object itself:
/// a HorizontalPodAutoscaler with minReplicas above maxReplicas (kubernetes/kubernetes
/// pkg/apis/autoscaling/validation/validation.go, <c>validateHorizontalPodAutoscalerSpec</c>), and
/// a PodDisruptionBudget with both minAvailable and maxUnavailable
/// (pkg/apis/policy/validation/validation.go, <c>ValidatePodDisruptionBudgetSpec</c>).
/// </summary>
public static class ChildSpecRules
{
    /// <summary>Errors in <paramref name="spec"/>'s autoscaling and disruption budget; empty when valid.</summary>
    public static IReadOnlyList<FieldError> Validate(UserApiSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<FieldError>();
        if (spec.Autoscaling.MinReplicas > spec.Autoscaling.MaxReplicas)
        {
            errors.Add(new FieldError("spec.autoscaling.minReplicas", $"must be at most maxReplicas ({spec.Autoscaling.MaxReplicas}), got {spec.Autoscaling.MinReplicas}"));
        }

        if (spec.DisruptionBudget is { MinAvailable: not null, MaxUnavailable: not null })
        {
            errors.Add(new FieldError("spec.disruptionBudget", "set minAvailable or maxUnavailable, not both"));
        }

        return errors;
    }
}
