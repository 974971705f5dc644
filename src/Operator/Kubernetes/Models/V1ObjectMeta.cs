namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// Standard object metadata (<c>metav1.ObjectMeta</c>): the fields of it that this operator reads
/// or writes. Unset fields are left out of the JSON sent to the API server.
/// </summary>
public sealed class V1ObjectMeta
{
    /// <summary>Object name, unique within its namespace and kind.</summary>
    public string? Name { get; set; }

    /// <summary>Prefix from which the server generates a unique name when <see cref="Name"/> is unset.</summary>
    public string? GenerateName { get; set; }

    /// <summary>Namespace; null for cluster-scoped objects.</summary>
    public string? Namespace { get; set; }

    /// <summary>Server-assigned unique id; the target of owner references.</summary>
    public string? Uid { get; set; }

    /// <summary>Opaque version for optimistic concurrency and watch resumption; compare only for equality.</summary>
    public string? ResourceVersion { get; set; }

    /// <summary>Sequence number of the desired state; bumped by the server on spec changes.</summary>
    public long? Generation { get; set; }

    /// <summary>Creation time (RFC 3339, UTC).</summary>
    public DateTimeOffset? CreationTimestamp { get; set; }

    /// <summary>Set when deletion was requested; the object goes once its finalizers are empty.</summary>
    public DateTimeOffset? DeletionTimestamp { get; set; }

    /// <summary>Labels: identifying key/value pairs used by selectors.</summary>
    public IDictionary<string, string>? Labels { get; set; }

    /// <summary>Annotations: non-identifying key/value metadata.</summary>
    public IDictionary<string, string>? Annotations { get; set; }

    /// <summary>Objects this object depends on; the garbage collector deletes it with its owner.</summary>
    public IList<V1OwnerReference>? OwnerReferences { get; set; }

    /// <summary>Finalizers that must be cleared before deletion completes.</summary>
    public IList<string>? Finalizers { get; set; }
}
