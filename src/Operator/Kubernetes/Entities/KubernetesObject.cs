using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// Base class of typed Kubernetes objects: fills <c>apiVersion</c> and <c>kind</c> from the
/// type's <see cref="KubernetesEntityAttribute"/> so a freshly built object is ready to send.
/// </summary>
public abstract class KubernetesObject : IKubernetesObject
{
    /// <summary>Initialises <c>apiVersion</c> and <c>kind</c> from the type's <see cref="KubernetesEntityAttribute"/>.</summary>
    protected KubernetesObject()
    {
        var entity = EntityMetadata.Of(GetType());
        ApiVersion = entity.GroupVersion;
        Kind = entity.Kind;
    }

    /// <inheritdoc />
    [JsonPropertyOrder(-3)]
    public string? ApiVersion { get; set; }

    /// <inheritdoc />
    [JsonPropertyOrder(-2)]
    public string? Kind { get; set; }

    /// <inheritdoc />
    [JsonPropertyOrder(-1)]
    public V1ObjectMeta Metadata { get; set; } = new();
}

/// <summary>A custom resource with a spec and a status, the shape of KubeOps' <c>CustomKubernetesEntity&lt;TSpec, TStatus&gt;</c>.</summary>
/// <typeparam name="TSpec">Spec type.</typeparam>
/// <typeparam name="TStatus">Status type.</typeparam>
public abstract class CustomKubernetesEntity<TSpec, TStatus> : KubernetesObject, ISpec<TSpec>, IStatus<TStatus>
    where TSpec : new()
    where TStatus : class
{
    /// <inheritdoc />
    public TSpec Spec { get; set; } = new();

    /// <inheritdoc />
    public TStatus? Status { get; set; }
}
