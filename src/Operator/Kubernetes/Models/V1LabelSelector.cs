namespace UserApiOperator.Kubernetes.Models;

/// <summary>A label selector (<c>metav1.LabelSelector</c>) by exact label values; all pairs must match.</summary>
public sealed class V1LabelSelector
{
    /// <summary>Labels an object must carry, with these exact values.</summary>
    public IDictionary<string, string>? MatchLabels { get; set; }
}
