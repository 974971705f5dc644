using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;
using k8s.Models;

namespace UserApiOperator.Entities;

/// <summary>
/// The policy/v1 PodDisruptionBudget of a UserApi: how many of its Pods a voluntary disruption (a
/// node drain, an eviction) may take at once. Set at most one of maxUnavailable and minAvailable;
/// with neither, at most one Pod is unavailable.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("!has(self.minAvailable) || !has(self.maxUnavailable)",
    Message = "set minAvailable or maxUnavailable, not both (the API server refuses such a PodDisruptionBudget)", FieldPath = ".minAvailable", Reason = "FieldValueForbidden")]
public sealed class DisruptionBudgetSpec
{
    /// <summary>Whether to have a PodDisruptionBudget NAME while two or more replicas run and it allows at least one eviction; false deletes an existing one.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Pods that may be unavailable at once: a count (1 when neither this nor minAvailable is set) or a percentage such as 25% (rounded up).</summary>
    [RegularExpression("^(100|[1-9]?[0-9])%$")]
    public IntOrString? MaxUnavailable { get; set; }

    /// <summary>Pods that must stay available during a disruption: a count or a percentage such as 50% (rounded up); excludes maxUnavailable.</summary>
    [RegularExpression("^(100|[1-9]?[0-9])%$")]
    public IntOrString? MinAvailable { get; set; }
}
