namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// A reference from a dependent object to its owner (<c>metav1.OwnerReference</c>). With
/// <see cref="Controller"/> true the owner is the managing controller; with
/// <see cref="BlockOwnerDeletion"/> true foreground deletion of the owner waits for this dependent.
/// </summary>
public sealed class V1OwnerReference
{
    /// <summary>Owner's <c>apiVersion</c>.</summary>
    public required string ApiVersion { get; set; }

    /// <summary>Owner's kind.</summary>
    public required string Kind { get; set; }

    /// <summary>Owner's name (same namespace as the dependent).</summary>
    public required string Name { get; set; }

    /// <summary>Owner's <c>metadata.uid</c>.</summary>
    public required string Uid { get; set; }

    /// <summary>True when the owner is the managing controller; at most one reference may say so.</summary>
    public bool? Controller { get; set; }

    /// <summary>True to make foreground deletion of the owner wait for this dependent.</summary>
    public bool? BlockOwnerDeletion { get; set; }
}
