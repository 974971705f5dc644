using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// A list of objects of one kind (<c>{Kind}List</c>, for example <c>SecretList</c>), the body of a
/// list request (<c>GET /api/v1/namespaces/{ns}/secrets</c>). <see cref="V1ListMeta.ResourceVersion"/>
/// is the version from which a watch resumes (Kubernetes API concepts, "Efficient detection of changes").
/// </summary>
/// <typeparam name="T">Item type.</typeparam>
public sealed class KubernetesList<T>
    where T : IKubernetesObject
{
    /// <summary><c>group/version</c> of the list, for example <c>v1</c>.</summary>
    public string? ApiVersion { get; set; }

    /// <summary>List kind, for example <c>SecretList</c>.</summary>
    public string? Kind { get; set; }

    /// <summary>List metadata: resource version and pagination token.</summary>
    public V1ListMeta Metadata { get; set; } = new();

    /// <summary>The objects; empty (never null) when nothing matched.</summary>
    public IList<T> Items { get; set; } = [];
}

/// <summary>Metadata of a list (<c>metav1.ListMeta</c>).</summary>
public sealed class V1ListMeta
{
    /// <summary>Resource version of the list snapshot; start a watch from it to see every later change.</summary>
    public string? ResourceVersion { get; set; }

    /// <summary>
    /// Opaque token for the next page when the list was limited (<c>?limit=</c>); null or empty on
    /// the last page. Tokens expire (HTTP 410) after a few minutes.
    /// </summary>
    public string? Continue { get; set; }

    /// <summary>Estimated number of items not yet returned; a hint only.</summary>
    public long? RemainingItemCount { get; set; }
}
