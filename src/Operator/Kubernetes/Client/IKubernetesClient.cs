using System.Text.Json.Nodes;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// Typed access to the Kubernetes REST API, in the shape of KubeOps' <c>IKubernetesClient</c>: one
/// generic method per verb, the resource path derived from the entity type's
/// <see cref="KubernetesEntityAttribute"/> (<see cref="EntityMetadata.Of{T}"/>). <c>T</c> must be a
/// concrete class with that attribute. Namespaced kinds need a namespace for single-object verbs
/// (<see cref="ArgumentException"/> otherwise); namespaces given for cluster-scoped kinds are ignored.
/// <para>
/// Failures: API errors raise <see cref="KubernetesApiException"/> subtypes (see
/// <see cref="KubernetesErrors.FromStatus"/>); transport failures raise <see cref="HttpRequestException"/>
/// or <see cref="IOException"/>; an ordinary request that exceeds
/// <see cref="KubernetesClientConfiguration.RequestTimeout"/> raises <see cref="TimeoutException"/>;
/// cancellation raises <see cref="OperationCanceledException"/>. Nothing is retried here; use
/// <see cref="KubernetesErrors.IsTransient"/> to decide.
/// </para>
/// </summary>
public interface IKubernetesClient
{
    /// <summary><c>GET</c> one object.</summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="name">Object name.</param>
    /// <param name="namespace">Namespace (required for namespaced kinds).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object, or null when the server answers 404.</returns>
    Task<T?> GetAsync<T>(string name, string? @namespace, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary>
    /// <c>GET</c> the collection in pages of 500 (<c>?limit=500</c>), following <c>continue</c> tokens
    /// until the last page. The result's <c>metadata.resourceVersion</c> is the snapshot version to
    /// start a watch from. An expired continue token raises <see cref="KubernetesGoneException"/>: list again.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="namespace">Namespace, or null for all namespaces.</param>
    /// <param name="labelSelector">Label selector (<c>app.kubernetes.io/managed-by=userapi-operator</c>), or null for all objects.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    Task<KubernetesList<T>> ListAsync<T>(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary>
    /// Watches the collection from <paramref name="resourceVersion"/>
    /// (<c>?watch=true&amp;resourceVersion=..&amp;allowWatchBookmarks=true&amp;timeoutSeconds=..</c>),
    /// yielding each event as it arrives (the chunked body is streamed line by line, each line at most
    /// 16 MiB). The enumeration ends normally when the server ends the stream (for example after
    /// <paramref name="timeoutSeconds"/>): watch again from the last seen version. ERROR events are not
    /// yielded but thrown: code 410 (resource version too old) as <see cref="KubernetesGoneException"/>
    /// (relist), others as the matching <see cref="KubernetesApiException"/>. A dropped connection raises
    /// <see cref="IOException"/> or <see cref="HttpRequestException"/>. When the server has not ended the
    /// stream 60 s after <paramref name="timeoutSeconds"/> (3600 s if null), a <see cref="TimeoutException"/>
    /// is raised. Disposing the enumerator closes the connection.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="namespace">Namespace, or null for all namespaces.</param>
    /// <param name="labelSelector">Label selector, or null.</param>
    /// <param name="resourceVersion">Version to resume from (from a list or the last event); empty: the server's choice ("any").</param>
    /// <param name="cancellationToken">Stops the watch; also honoured through <c>WithCancellation</c>.</param>
    /// <param name="allowBookmarks">Ask for BOOKMARK events (progress without change).</param>
    /// <param name="timeoutSeconds">Ask the server to end the stream after this many seconds; null for its default (30 to 60 minutes).</param>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(
        string? @namespace,
        string? labelSelector,
        string resourceVersion,
        CancellationToken cancellationToken,
        bool allowBookmarks = true,
        int? timeoutSeconds = null)
        where T : IKubernetesObject;

    /// <summary>
    /// Server-side apply: <c>PATCH</c> the object's URL with <c>Content-Type: application/apply-patch+yaml</c>
    /// (the body is JSON, which is YAML) and <c>?fieldManager=..[&amp;force=true]</c>. The body carries
    /// <c>apiVersion</c> and <c>kind</c> (filled from the entity attribute when unset),
    /// <c>metadata.name</c> and, for namespaced kinds, <c>metadata.namespace</c>. Only fields set in the
    /// object are claimed by the field manager; a set <c>metadata.resourceVersion</c> makes the apply
    /// conditional (409 if stale). Creates the object when it does not exist.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="obj">The desired state.</param>
    /// <param name="fieldManager">Field manager name, for example <c>userapi-operator</c>.</param>
    /// <param name="force">Take ownership of fields other managers own instead of failing with 409.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object as stored.</returns>
    /// <exception cref="ArgumentException"><c>metadata.name</c> is unset, or <c>metadata.namespace</c> for a namespaced kind.</exception>
    Task<T> ApplyAsync<T>(T obj, string fieldManager, bool force, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary><c>POST</c> the object to its collection (<c>?fieldManager=..</c>).</summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="obj">The object; <c>metadata.name</c> or <c>generateName</c>, and <c>metadata.namespace</c> for namespaced kinds.</param>
    /// <param name="fieldManager">Field manager name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object as stored.</returns>
    /// <exception cref="KubernetesAlreadyExistsException">The name is taken (409 AlreadyExists).</exception>
    Task<T> CreateAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary>
    /// <c>PUT</c> the whole object to its <c>/status</c> subresource (<c>?fieldManager=..</c>); only the
    /// status is stored. The object's <c>metadata.resourceVersion</c> is required and checked by the server.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="obj">The object with the new status and the resource version it was read at.</param>
    /// <param name="fieldManager">Field manager name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object as stored (new resource version).</returns>
    /// <exception cref="ArgumentException"><c>metadata.resourceVersion</c> is unset.</exception>
    /// <exception cref="KubernetesConflictException">The resource version is stale (409 Conflict): re-read and retry.</exception>
    Task<T> UpdateStatusAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary>
    /// JSON merge patch (RFC 7386, <c>Content-Type: application/merge-patch+json</c>) of the
    /// <c>/status</c> subresource (<c>?fieldManager=..</c>): fields present replace, <c>null</c> deletes,
    /// arrays (such as <c>conditions</c>) are replaced whole. Unconditional unless the patch carries
    /// <c>metadata.resourceVersion</c>.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="name">Object name.</param>
    /// <param name="namespace">Namespace (required for namespaced kinds).</param>
    /// <param name="mergePatch">The patch document, for example <c>{"status":{"url":"http://x/"}}</c>.</param>
    /// <param name="fieldManager">Field manager name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object as stored.</returns>
    Task<T> PatchStatusAsync<T>(string name, string? @namespace, JsonNode mergePatch, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary>
    /// JSON merge patch (RFC 7386, <c>application/merge-patch+json</c>) of the main resource. The server
    /// names the field manager after the <c>User-Agent</c> (<c>userapi-operator</c>).
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="name">Object name.</param>
    /// <param name="namespace">Namespace (required for namespaced kinds).</param>
    /// <param name="mergePatch">The patch document.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The object as stored.</returns>
    Task<T> PatchAsync<T>(string name, string? @namespace, JsonNode mergePatch, CancellationToken cancellationToken)
        where T : IKubernetesObject;

    /// <summary><c>DELETE</c> one object (<c>?propagationPolicy=..</c>); dependents are collected by the garbage collector per the policy.</summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="name">Object name.</param>
    /// <param name="namespace">Namespace (required for namespaced kinds).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <param name="propagationPolicy"><c>Background</c> (default), <c>Foreground</c> or <c>Orphan</c>.</param>
    /// <returns>True when deletion was accepted (200/202), false when the object did not exist (404).</returns>
    Task<bool> DeleteAsync<T>(string name, string? @namespace, CancellationToken cancellationToken, string propagationPolicy = "Background")
        where T : IKubernetesObject;

    /// <summary>
    /// <c>PUT</c> the whole object (the <c>update</c> verb) with optimistic concurrency: the body's
    /// <c>metadata.resourceVersion</c> must be the stored one, else the server answers 409 and
    /// <see cref="KubernetesConflictException"/> is raised (read again and retry). Used where a
    /// compare-and-swap is the point, as for leader-election Leases.
    /// </summary>
    /// <typeparam name="T">Entity type.</typeparam>
    /// <param name="obj">The object, with <c>metadata.name</c>, <c>namespace</c> and <c>resourceVersion</c>.</param>
    /// <param name="fieldManager">Field manager recorded for the update.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stored object, with its new resource version.</returns>
    /// <exception cref="ArgumentException">metadata.name or metadata.resourceVersion is missing.</exception>
    Task<T> ReplaceAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject;
}
