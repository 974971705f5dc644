using System.Reflection;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Client;

/// <summary>
/// Writes of any kind whose type carries k8s.Models' <see cref="KubernetesEntityAttribute"/> (every
/// built-in model and the operator's custom resources), through KubernetesClient's CustomObjects
/// operations, which serve the core group too (KubernetesClient rewrites <c>apis//v1</c> to
/// <c>api/v1</c> when the group is empty: <c>src/LibKubernetesGenerator/templates/Operations.cs.template</c>).
/// One code path for every owned kind, as controller-runtime's client is one client for all types.
/// </summary>
public static class KubernetesObjects
{
    /// <summary>The <see cref="KubernetesEntityAttribute"/> of <typeparamref name="T"/>: group, version, kind and plural.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no attribute naming its version and plural.</exception>
    public static KubernetesEntityAttribute ResourceOf<T>()
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>();
        return entity is null || string.IsNullOrEmpty(entity.PluralName) || string.IsNullOrEmpty(entity.ApiVersion)
            ? throw new NotSupportedException($"{typeof(T).Name}: no [KubernetesEntity] naming its group, version and plural.")
            : entity;
    }

    /// <summary>
    /// Server-side apply of <paramref name="desired"/> (<c>PATCH</c>, <c>application/apply-patch+yaml</c>,
    /// <paramref name="fieldManager"/>, <c>force=true</c>): creates it or takes ownership of the fields it
    /// sets. The API server authorises an apply that creates as <c>create</c> as well as <c>patch</c>.
    /// </summary>
    /// <returns>The object as stored.</returns>
    /// <exception cref="k8s.Autorest.HttpOperationException">The API server refused the write (403, 409, 422, ...).</exception>
    public static Task<T> ServerSideApplyAsync<T>(this IKubernetes client, T desired, string fieldManager, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        client.ServerSideApplyAsync(desired, fieldManager, static stored => KubernetesJson.Deserialize<T>(stored), cancellationToken);

    /// <summary>
    /// <see cref="ServerSideApplyAsync{T}(IKubernetes, T, string, CancellationToken)"/>, the answer read by
    /// <paramref name="decode"/> (for example the decoder of the informer the answer goes into).
    /// </summary>
    /// <returns>The object as stored, as <paramref name="decode"/> reads it.</returns>
    /// <exception cref="k8s.Autorest.HttpOperationException">The API server refused the write (403, 409, 422, ...).</exception>
    public static async Task<T> ServerSideApplyAsync<T>(this IKubernetes client, T desired, string fieldManager, Func<JsonElement, T> decode, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(decode);
        var resource = ResourceOf<T>();
        var stored = await client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(desired, V1Patch.PatchType.ApplyPatch), resource.Group, resource.ApiVersion, desired.Metadata.NamespaceProperty, resource.PluralName, desired.Metadata.Name,
            fieldManager: fieldManager, force: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        return decode((JsonElement)stored);
    }

    /// <summary>Deletes the <typeparamref name="T"/> <paramref name="namespace"/>/<paramref name="name"/> with background propagation (its dependents go through garbage collection).</summary>
    /// <exception cref="k8s.Autorest.HttpOperationException">The API server refused the delete (404 when it is gone already).</exception>
    public static async Task DeleteAsync<T>(this IKubernetes client, string @namespace, string name, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        var resource = ResourceOf<T>();
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync(
            resource.Group, resource.ApiVersion, @namespace, resource.PluralName, name, propagationPolicy: "Background", cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
