namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// A status condition (<c>metav1.Condition</c>, Kubernetes API conventions "Typical status
/// properties"): one aspect of the object's state. <see cref="LastTransitionTime"/> changes only
/// when <see cref="Status"/> changes.
/// </summary>
public sealed record V1Condition
{
    /// <summary>Condition type in CamelCase, for example <c>Ready</c>.</summary>
    public required string Type { get; init; }

    /// <summary><c>True</c>, <c>False</c> or <c>Unknown</c>.</summary>
    public required string Status { get; init; }

    /// <summary>The <c>metadata.generation</c> the condition was set from.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary>When <see cref="Status"/> last changed (RFC 3339, UTC, second precision).</summary>
    public required DateTimeOffset LastTransitionTime { get; init; }

    /// <summary>Machine-readable CamelCase reason for the last transition.</summary>
    public required string Reason { get; init; }

    /// <summary>Human-readable detail; may be empty.</summary>
    public required string Message { get; init; }
}
