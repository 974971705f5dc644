using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A read-modify-write straight on storage, as subresources that are not plain updates make them
/// (k8s.io/apiserver/pkg/storage/interfaces.go, <c>GuaranteedUpdate</c>, with
/// <c>Preconditions.Check</c>): the binding subresource's <c>spec.nodeName</c> and the eviction
/// subresource's DisruptionTarget condition.
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>
    /// Applies <paramref name="update"/> to a copy of the latest stored object and stores the
    /// result, under the store's lock (no other write comes between the read and the write). No
    /// validation, no status-subresource rule and no field management: the update decides what
    /// changes. Throws 404 when the object is absent, 409 when a precondition fails (worded as
    /// storage words it), and whatever <paramref name="update"/> throws.
    /// </summary>
    /// <param name="rt">The resource.</param>
    /// <param name="ns">The namespace (ignored for cluster-scoped resources).</param>
    /// <param name="name">The object's name.</param>
    /// <param name="uid">A UID the object must have, or null.</param>
    /// <param name="resourceVersion">A resourceVersion the object must have, or null.</param>
    /// <param name="update">Turns the latest object (a private copy) into the new one.</param>
    /// <param name="dryRun">Answer with the result without storing it.</param>
    /// <returns>The stored object (the result, in a dry run).</returns>
    internal JsonObject GuaranteedUpdate(ResourceType rt, string? ns, string name, string? uid, string? resourceVersion,
        Func<JsonObject, JsonObject> update, bool dryRun)
    {
        lock (_lock)
        {
            var so = Find(rt, ns, name) ?? throw StatusResponses.NotFound(rt, name);
            CheckPreconditions(rt, so, new DeleteOptions("Background", false, uid, resourceVersion));
            var candidate = update(Output(rt, so.Object));
            var options = new WriteOptions { Raw = true, DryRun = dryRun, Manager = TestManager };
            return CommitUpdateLocked(rt, so, candidate, options, statusWrite: false, ownershipDone: true).Body;
        }
    }
}
