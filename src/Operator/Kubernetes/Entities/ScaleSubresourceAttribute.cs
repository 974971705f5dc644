namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// Enables the <c>scale</c> subresource of a custom resource (<c>kubectl scale</c>, HorizontalPodAutoscaler)
/// with the given JSONPaths; written into the CRD version's <c>subresources.scale</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ScaleSubresourceAttribute : Attribute
{
    /// <summary>Path of the desired replica count, for example <c>.spec.replicas</c>.</summary>
    public required string SpecReplicasPath { get; init; }

    /// <summary>Path of the observed replica count, for example <c>.status.replicas</c>.</summary>
    public required string StatusReplicasPath { get; init; }

    /// <summary>Path of the serialized label selector string, for example <c>.status.selector</c>.</summary>
    public string? LabelSelectorPath { get; init; }
}
