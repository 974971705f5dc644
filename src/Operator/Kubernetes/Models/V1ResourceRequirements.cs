namespace UserApiOperator.Kubernetes.Models;

/// <summary>Compute resources of a container (<c>core/v1 ResourceRequirements</c>), keyed by resource name (<c>cpu</c>, <c>memory</c>).</summary>
public sealed class V1ResourceRequirements
{
    /// <summary>Guaranteed amounts, used for scheduling.</summary>
    public IDictionary<string, ResourceQuantity>? Requests { get; set; }

    /// <summary>Maximum amounts; exceeding the memory limit kills the container.</summary>
    public IDictionary<string, ResourceQuantity>? Limits { get; set; }
}
