using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>A core/v1 Secret: key/value data, base64-encoded on the wire.</summary>
[KubernetesEntity(ApiVersion = "v1", Kind = "Secret", PluralName = "secrets")]
public sealed class V1Secret : KubernetesObject
{
    /// <summary>Secret type; <c>Opaque</c> for arbitrary user data.</summary>
    public string? Type { get; set; }

    /// <summary>Data by key; values are raw bytes (base64 in JSON).</summary>
    public IDictionary<string, byte[]>? Data { get; set; }
}
