using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>One page of a list: the items and the list's metadata (resource version, continue token).</summary>
/// <typeparam name="T">Kind of object.</typeparam>
/// <param name="Items">The objects of the page.</param>
/// <param name="Metadata">The list's metadata: <c>resourceVersion</c> is the snapshot to watch from; <c>continue</c> names the next page.</param>
public sealed record ListPage<T>(IList<T> Items, V1ListMeta? Metadata);

/// <summary>
/// How an <see cref="Informer{T}"/> lists and watches one kind (client-go's <c>ListWatch</c>): two
/// calls of KubernetesClient, given as functions (<see cref="KubernetesListWatch"/> makes them; tests
/// can give others).
/// </summary>
/// <typeparam name="T">Kind of object.</typeparam>
/// <param name="List">
/// Lists one page: label selector (or null), continue token (null for the first page), page size (null: the whole list at once),
/// cancellation. Throws <see cref="k8s.Autorest.HttpOperationException"/> on an API error (410 for an
/// expired continue token).
/// </param>
/// <param name="Watch">
/// Watches from a resource version: label selector, resource version, server-side timeout in seconds,
/// the error callback of KubernetesClient's watch enumerator (which reports ERROR events and undecodable
/// lines there instead of throwing), cancellation. The enumeration ends when the server ends the stream.
/// </param>
public sealed record ListWatch<T>(
    Func<string?, string?, int?, CancellationToken, Task<ListPage<T>>> List,
    Func<string?, string, int, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> Watch)
    where T : class, IKubernetesObject<V1ObjectMeta>;
