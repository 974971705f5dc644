using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// <see cref="ListWatch{T}"/>s on KubernetesClient: the typed <c>List*Async</c> and <c>WatchList*Async</c>
/// methods for the built-in kinds the framework knows (Secret, Service, Deployment, Ingress,
/// HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy), the
/// CustomObjects ones for a custom resource type carrying k8s.Models' <see cref="KubernetesEntityAttribute"/>.
/// Each covers one namespace or, when <c>namespace</c> is null, all namespaces.
/// </summary>
public static class KubernetesListWatch
{
    /// <summary>The list and watch calls of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A supported built-in kind, or a custom resource type.</typeparam>
    /// <param name="client">API access.</param>
    /// <param name="namespace">Namespace to cover; null for all.</param>
    /// <param name="undecodable">
    /// Hears of each custom resource that cannot be read as <typeparamref name="T"/>; such an object is
    /// skipped instead of failing the whole list or watch. (Built-in kinds are validated by the API
    /// server against the same schema the typed models follow, so they are decoded as a whole.)
    /// </param>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither a known built-in kind nor a custom resource type.</exception>
    public static ListWatch<T> For<T>(IKubernetes client, string? @namespace, Action<UndecodableObject>? undecodable = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(client);
        object source = typeof(T) switch
        {
            var t when t == typeof(V1Secret) => new ListWatch<V1Secret>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.CoreV1.ListSecretForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.CoreV1.ListNamespacedSecretAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.CoreV1.WatchListSecretForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.CoreV1.WatchListNamespacedSecretAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V1Service) => new ListWatch<V1Service>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.CoreV1.ListServiceForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.CoreV1.ListNamespacedServiceAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.CoreV1.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.CoreV1.WatchListNamespacedServiceAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V1Deployment) => new ListWatch<V1Deployment>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.AppsV1.ListDeploymentForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.AppsV1.ListNamespacedDeploymentAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.AppsV1.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.AppsV1.WatchListNamespacedDeploymentAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V1Ingress) => new ListWatch<V1Ingress>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.NetworkingV1.ListIngressForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.NetworkingV1.ListNamespacedIngressAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.NetworkingV1.WatchListIngressForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.NetworkingV1.WatchListNamespacedIngressAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V2HorizontalPodAutoscaler) => new ListWatch<V2HorizontalPodAutoscaler>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.AutoscalingV2.ListHorizontalPodAutoscalerForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.AutoscalingV2.ListNamespacedHorizontalPodAutoscalerAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.AutoscalingV2.WatchListHorizontalPodAutoscalerForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.AutoscalingV2.WatchListNamespacedHorizontalPodAutoscalerAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V1PodDisruptionBudget) => new ListWatch<V1PodDisruptionBudget>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.PolicyV1.ListPodDisruptionBudgetForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.PolicyV1.ListNamespacedPodDisruptionBudgetAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.PolicyV1.WatchListPodDisruptionBudgetForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.PolicyV1.WatchListNamespacedPodDisruptionBudgetAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            var t when t == typeof(V1NetworkPolicy) => new ListWatch<V1NetworkPolicy>(
                async (selector, cont, limit, ct) => Page(@namespace is null
                    ? await client.NetworkingV1.ListNetworkPolicyForAllNamespacesAsync(continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.NetworkingV1.ListNamespacedNetworkPolicyAsync(@namespace, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)),
                (selector, version, timeout, onError, ct) => @namespace is null
                    ? client.NetworkingV1.WatchListNetworkPolicyForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                    : client.NetworkingV1.WatchListNamespacedNetworkPolicyAsync(@namespace, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)),
            _ => CustomResource<T>(client, @namespace, undecodable ?? (_ => { })),
        };
        return (ListWatch<T>)source;
    }

    private static ListPage<T> Page<T>(IItems<T> list)
        where T : class
        => new(list.Items ?? [], ((IMetadata<V1ListMeta>)list).Metadata);

    private static ListWatch<T> CustomResource<T>(IKubernetes client, string? @namespace, Action<UndecodableObject> undecodable)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new NotSupportedException($"{typeof(T).Name}: neither a built-in kind this runtime lists nor a custom resource with [KubernetesEntity].");
        return new ListWatch<T>(
            async (selector, cont, limit, ct) =>
            {
                using var response = @namespace is null
                    ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<EntityList<JsonElement>>(entity.Group, entity.ApiVersion, entity.PluralName, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false)
                    : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<EntityList<JsonElement>>(entity.Group, entity.ApiVersion, @namespace, entity.PluralName, continueParameter: cont, labelSelector: selector, limit: limit, cancellationToken: ct).ConfigureAwait(false);
                var items = new List<T>();
                foreach (var item in response.Body.Items ?? [])
                {
                    if (TryDecode<T>(item, entity, undecodable) is { } decoded)
                    {
                        items.Add(decoded);
                    }
                }

                return new ListPage<T>(items, response.Body.Metadata);
            },
            (selector, version, timeout, onError, ct) => Typed<T>(entity, undecodable, @namespace is null
                ? client.CustomObjects.WatchListClusterCustomObjectAsync(entity.Group, entity.ApiVersion, entity.PluralName, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct)
                : client.CustomObjects.WatchListNamespacedCustomObjectAsync(entity.Group, entity.ApiVersion, @namespace, entity.PluralName, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: version, timeoutSeconds: timeout, onError: onError, cancellationToken: ct), ct));
    }

    /// <summary>
    /// The CustomObjects watch yields each object as a <see cref="JsonElement"/>; read it as
    /// <typeparamref name="T"/>, skipping (and reporting) what cannot be read. A BOOKMARK carries only
    /// metadata and always decodes.
    /// </summary>
    private static async IAsyncEnumerable<(WatchEventType, T)> Typed<T>(KubernetesEntityAttribute entity, Action<UndecodableObject> undecodable, IAsyncEnumerable<(WatchEventType, object)> events, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        await foreach (var (type, obj) in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var decoded = obj is JsonElement element ? TryDecode<T>(element, entity, undecodable) : (T)obj;
            if (decoded is not null)
            {
                yield return (type, decoded);
            }
        }
    }

    /// <summary>Reads <paramref name="element"/> as <typeparamref name="T"/>, or reports it and answers null.</summary>
    private static T? TryDecode<T>(JsonElement element, KubernetesEntityAttribute entity, Action<UndecodableObject> undecodable)
        where T : class
    {
        try
        {
            return KubernetesJson.Deserialize<T>(element);
        }
        catch (JsonException e)
        {
            string? Meta(string field) =>
                element.ValueKind == JsonValueKind.Object && element.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var apiVersion = element.ValueKind == JsonValueKind.Object && element.TryGetProperty("apiVersion", out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()! : $"{entity.Group}/{entity.ApiVersion}";
            undecodable(new UndecodableObject(entity.Kind, apiVersion, Meta("namespace"), Meta("name"), Meta("uid"), Meta("resourceVersion"), e.Message));
            return null;
        }
    }

    /// <summary>A list of custom resources as the API server returns it.</summary>
    private sealed class EntityList<T> : IKubernetesObject<V1ListMeta>, IItems<T>
    {
        public string ApiVersion { get; set; } = "";

        public string Kind { get; set; } = "";

        public V1ListMeta Metadata { get; set; } = new();

        public IList<T> Items { get; set; } = [];
    }
}
