using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Reconciliation;

/// <summary>Work-queue and cache keys: <c>namespace/name</c>, or <c>name</c> for cluster-scoped objects (client-go's <c>MetaNamespaceKeyFunc</c>).</summary>
public static class ObjectKey
{
    /// <summary>The key of <paramref name="obj"/>.</summary>
    public static string Of(IKubernetesObject<V1ObjectMeta> obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return Of(obj.Metadata.NamespaceProperty, obj.Metadata.Name ?? "");
    }

    /// <summary>The key of <paramref name="namespace"/>/<paramref name="name"/>.</summary>
    public static string Of(string? @namespace, string name) => string.IsNullOrEmpty(@namespace) ? name : $"{@namespace}/{name}";

    /// <summary>Splits a key into namespace (null when cluster-scoped) and name.</summary>
    public static (string? Namespace, string Name) Split(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
    }
}
