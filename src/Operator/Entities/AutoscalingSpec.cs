using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// Horizontal autoscaling of a UserApi: an autoscaling/v2 HorizontalPodAutoscaler that scales the
/// UserApi itself through its scale subresource (it writes spec.replicas; the operator copies
/// spec.replicas to the Deployment).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
    Message = "minReplicas must be at most maxReplicas (the API server refuses such a HorizontalPodAutoscaler)", FieldPath = ".minReplicas")]
public sealed class AutoscalingSpec
{
    /// <summary>Whether a HorizontalPodAutoscaler NAME scales the UserApi; false deletes an existing one and leaves spec.replicas where the autoscaler left it.</summary>
    public bool Enabled { get; set; }

    /// <summary>Fewest Pods the autoscaler keeps; 2 by default, so that a node drain never leaves the API without a Pod (must be at most maxReplicas).</summary>
    [Range(1, 100)]
    public int MinReplicas { get; set; } = 2;

    /// <summary>Most Pods the autoscaler runs (at most 100, the bound of spec.replicas).</summary>
    [Range(1, 100)]
    public int MaxReplicas { get; set; } = 10;

    /// <summary>Average CPU use the autoscaler aims at, in percent of the Pods' CPU requests; unset: no CPU target, unless the memory target is unset too, then 80 (the API server's default).</summary>
    [Range(1, 1000)]
    public int? TargetCPUUtilizationPercentage { get; set; }

    /// <summary>Average memory use the autoscaler aims at, in percent of the Pods' memory requests; unset: no memory target.</summary>
    [Range(1, 1000)]
    public int? TargetMemoryUtilizationPercentage { get; set; }
}
