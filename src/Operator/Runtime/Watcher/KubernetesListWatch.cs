using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;
using UserApiOperator.Runtime.Client;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// <see cref="ListWatch{T}"/>s on KubernetesClient for any kind whose type carries k8s.Models'
/// <see cref="KubernetesEntityAttribute"/> (every built-in model and the operator's custom resources).
/// Lists and watches go through the CustomObjects operations, which serve the core group too
/// (KubernetesClient rewrites <c>apis//v1</c> to <c>api/v1</c> when the group is empty:
/// <c>src/LibKubernetesGenerator/templates/Operations.cs.template</c>), so that each object arrives
/// as JSON and is decoded on its own: one object that the types cannot read is skipped and reported
/// instead of failing the whole list or watch of its kind. Each covers one namespace or, when
/// <c>namespace</c> is null, all namespaces.
/// </summary>
public static class KubernetesListWatch
{
    /// <summary>The list and watch calls of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A type with <see cref="KubernetesEntityAttribute"/> (group, version, kind, plural).</typeparam>
    /// <param name="client">API access.</param>
    /// <param name="namespace">Namespace to cover; null for all.</param>
    /// <param name="undecodable">
    /// Hears of each object that cannot be read as <typeparamref name="T"/>; such an object is skipped
    /// instead of failing the whole list or watch. A built-in object is validated by the API server
    /// against the schema the models follow, yet a newer server, a conversion or a store written
    /// around the API can still serve one the models refuse.
    /// </param>
    /// <param name="decode">
    /// Reads one object as the API server sent it (default: <see cref="KubernetesJson"/>, the whole
    /// object). A decoder that reads only what the cache keeps (<see cref="SlimObject"/>) saves the
    /// rest of the decoding, and reports as undecodable only what it reads. It throws
    /// <see cref="JsonException"/>, <see cref="FormatException"/>, <see cref="InvalidOperationException"/>
    /// or <see cref="OverflowException"/> for an object it cannot read.
    /// </param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no <see cref="KubernetesEntityAttribute"/> with a plural name.</exception>
    public static ListWatch<T> For<T>(IKubernetes client, string? @namespace, Action<UndecodableObject>? undecodable = null, Func<JsonElement, T>? decode = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        var entity = KubernetesObjects.ResourceOf<T>();
        var report = undecodable ?? (_ => { });
        var read = decode ?? (static element => KubernetesJson.Deserialize<T>(element));
        return new ListWatch<T>(
            async (selector, cont, limit, ct) =>
            {
                using var response = @namespace is null
                    ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<RawList>(entity.Group, entity.ApiVersion, entity.PluralName, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<RawList>(entity.Group, entity.ApiVersion, @namespace, entity.PluralName, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false);
                var items = new List<T>(response.Body.Items?.Count ?? 0);
                foreach (var item in response.Body.Items ?? [])
                {
                    if (TryDecode(item, read, entity, report) is { } decoded)
                    {
                        items.Add(decoded);
                    }
                }

                return new ListPage<T>(items, response.Body.Metadata);
            },
            (selector, version, timeout, onError, ct) => Typed(entity, read, report, @namespace is null
                ? client.CustomObjects.WatchListClusterCustomObjectAsync(entity.Group, entity.ApiVersion, entity.PluralName, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                : client.CustomObjects.WatchListNamespacedCustomObjectAsync(entity.Group, entity.ApiVersion, @namespace, entity.PluralName, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct), ct));
    }

    /// <summary>
    /// The CustomObjects watch yields each object as a <see cref="JsonElement"/>; read it as
    /// <typeparamref name="T"/>, skipping (and reporting) what cannot be read. A BOOKMARK carries only
    /// metadata and always decodes.
    /// </summary>
    private static async IAsyncEnumerable<(WatchEventType, T)> Typed<T>(KubernetesEntityAttribute entity, Func<JsonElement, T> read, Action<UndecodableObject> undecodable, IAsyncEnumerable<(WatchEventType, object)> events, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        await foreach (var (type, obj) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var decoded = obj is JsonElement element ? TryDecode(element, read, entity, undecodable) : (T)obj;
            if (decoded is not null)
            {
                yield return (type, decoded);
            }
        }
    }

    /// <summary>Reads <paramref name="element"/> with <paramref name="read"/>, or reports it and answers null.</summary>
    private static T? TryDecode<T>(JsonElement element, Func<JsonElement, T> read, KubernetesEntityAttribute entity, Action<UndecodableObject> undecodable)
        where T : class
    {
        try
        {
            return read(element);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or OverflowException)
        {
            // FormatException, InvalidOperationException and OverflowException come from the models'
            // own converters (a malformed quantity, int-or-string, or date); JsonException from the rest.
            string? Meta(string field) =>
                element.ValueKind == JsonValueKind.Object && element.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var apiVersion = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("apiVersion", out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()! : string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
            undecodable(new UndecodableObject(entity.Kind, apiVersion, Meta("namespace"), Meta("name"), Meta("uid"), Meta("resourceVersion"), e.Message));
            return null;
        }
    }

    /// <summary>A list as the API server returns it, its items left as JSON to be decoded one by one.</summary>
    private sealed class RawList : IKubernetesObject<V1ListMeta>, IItems<JsonElement>
    {
        public string ApiVersion { get; set; } = "";

        public string Kind { get; set; } = "";

        public V1ListMeta Metadata { get; set; } = new();

        public IList<JsonElement> Items { get; set; } = [];
    }
}
