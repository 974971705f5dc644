using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Deletion: finalizers (deletionTimestamp set, object kept until an update empties them), and
/// synchronous garbage collection through <c>metadata.ownerReferences[].uid</c> (transitive; a
/// dependent with another live owner only loses the dangling reference; Orphan strips references).
/// Deleting a CRD deletes its custom resources and stops serving them; deleting a Namespace deletes
/// its contents.
/// </summary>
public sealed partial class ResourceStore
{
    internal (int Code, JsonObject Body) Delete(ResourceType rt, string? ns, string name, DeleteOptions d)
    {
        lock (_lock)
        {
            var so = Find(rt, ns, name) ?? throw StatusResponses.NotFound(rt, name);
            CheckPreconditions(rt, so, d);
            if (d.DryRun) return (200, Output(rt, so.Object));
            var (obj, deleted) = DeleteObjectLocked(so, d.Propagation, d.GracePeriodSeconds);

            // Pods answer with the object, deleted or not (pkg/registry/core/pod/storage/storage.go: ReturnDeletedObject).
            if (IsPod(so.Key)) return (200, Output(rt, obj));
            return deleted ? (200, StatusResponses.Success(rt, name, so.Uid)) : (202, Output(rt, obj));
        }
    }

    internal JsonObject DeleteCollection(ResourceType rt, string? ns, LabelSelector labels, FieldSelector fields, DeleteOptions d)
    {
        lock (_lock)
        {
            var deleted = new List<JsonObject>();
            foreach (var so in Matching(rt, ns, labels, fields).ToList())
            {
                if (!_objects.ContainsKey(so.Key)) continue;
                var obj = so.Object;
                if (!d.DryRun) (obj, _) = DeleteObjectLocked(so, d.Propagation, d.GracePeriodSeconds);
                deleted.Add(obj);
            }
            return ListOf(rt, new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) }, deleted);
        }
    }

    private static void CheckPreconditions(ResourceType rt, StoredObject so, DeleteOptions d)
    {
        if (d.PreconditionUid is { Length: > 0 } uid && uid != so.Uid)
        {
            throw StatusResponses.Conflict(rt, so.Key.Name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {so.Uid}");
        }
        if (d.PreconditionResourceVersion is { Length: > 0 } rv && rv != so.Rv)
        {
            throw StatusResponses.Conflict(rt, so.Key.Name,
                $"Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {so.Rv}");
        }
    }

    /// <summary>
    /// Deletes now, or marks for deletion when finalizers are present (Pods: or while their grace
    /// period runs, see <see cref="DeletePodLocked"/>). Returns the resulting object and whether it is gone.
    /// </summary>
    private (JsonObject Object, bool Deleted) DeleteObjectLocked(StoredObject so, string propagation, long? gracePeriodSeconds = null)
    {
        if (IsPod(so.Key)) return DeletePodLocked(so, propagation, gracePeriodSeconds);
        var meta = (JsonObject)so.Object["metadata"]!;
        if (meta["finalizers"] is JsonArray { Count: > 0 })
        {
            if (meta["deletionTimestamp"] is not null) return (so.Object, false);
            var candidate = (JsonObject)so.Object.DeepClone();
            var m = JsonUtil.Metadata(candidate);
            m["deletionTimestamp"] = Now();
            m["deletionGracePeriodSeconds"] = 0;
            m["generation"] = (JsonUtil.TryGetLong(meta["generation"]) ?? 0) + 1;
            JsonUtil.Normalize(candidate);
            return (Commit(so.Key, so, candidate, "MODIFIED").Object, false);
        }
        return (FinalizeDeletion(so, null, propagation), true);
    }

    /// <summary>Removes the object, emits DELETED with a new resourceVersion, then runs the cascades.</summary>
    private JsonObject FinalizeDeletion(StoredObject so, JsonObject? lastState, string propagation)
    {
        _objects.Remove(so.Key);
        if (so.Uid.Length > 0) _byUid.Remove(so.Uid);
        _resourceVersion++;
        var final = (JsonObject)(lastState ?? so.Object).DeepClone();
        JsonUtil.Metadata(final)["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        JsonUtil.Normalize(final);
        _hub.Record(new WatchEvent("DELETED", so.Key, _resourceVersion, final, JsonUtil.ToUtf8(final), so.Object));
        _signal.Pulse();

        if (IsCrd(so.Key)) RemoveCrd(so.Key.Name, final);
        if (so.Key.Group.Length == 0 && so.Key.Resource == "namespaces")
        {
            foreach (var member in _objects.Values.Where(o => o.Key.Namespace == so.Key.Name).OrderBy(o => o.Key, ResourceKey.Order).ToList())
            {
                if (_objects.ContainsKey(member.Key)) DeleteObjectLocked(member, "Background");
            }
        }
        if (propagation == "Orphan") Orphan(so.Uid);
        else CollectGarbage(so.Uid);
        ReactLocked("DELETED", so.Key);
        return final;
    }

    private void RemoveCrd(string crdName, JsonObject crd)
    {
        if (_crdTypes.Remove(crdName, out var types))
        {
            foreach (var t in types) _types.Remove(t);
        }
        var group = JsonUtil.Str(crd["spec"]?["group"]) ?? "";
        var plural = JsonUtil.Str(crd["spec"]?["names"]?["plural"]) ?? "";
        foreach (var so in _objects.Values.Where(o => o.Key.Group == group && o.Key.Resource == plural).ToList())
        {
            if (_objects.ContainsKey(so.Key)) FinalizeDeletion(so, null, "Background");
        }
        foreach (var w in _hub.Snapshot().Where(w => w.Type.Group == group && w.Type.Plural == plural)) w.Complete();
    }

    private static List<string> OwnerUids(JsonObject obj) =>
        ((obj["metadata"] as JsonObject)?["ownerReferences"] as JsonArray)?
            .Select(r => JsonUtil.Str(r?["uid"])).OfType<string>().ToList() ?? [];

    private void CollectGarbage(string uid)
    {
        if (uid.Length == 0) return;
        var dependents = _objects.Values.Where(o => OwnerUids(o.Object).Contains(uid))
            .Select(o => o.Key).OrderBy(k => k, ResourceKey.Order).ToList();
        foreach (var key in dependents)
        {
            if (!_objects.TryGetValue(key, out var dep)) continue;
            var owners = OwnerUids(dep.Object);
            var alive = owners.Where(_byUid.ContainsKey).ToList();
            if (alive.Count == 0) DeleteObjectLocked(dep, "Background");
            else if (alive.Count < owners.Count) RemoveOwnerReferences(dep, r => !_byUid.ContainsKey(r));
        }
    }

    private void Orphan(string uid)
    {
        if (uid.Length == 0) return;
        foreach (var dep in _objects.Values.Where(o => OwnerUids(o.Object).Contains(uid)).OrderBy(o => o.Key, ResourceKey.Order).ToList())
        {
            RemoveOwnerReferences(dep, r => r == uid);
        }
    }

    private void RemoveOwnerReferences(StoredObject dep, Func<string, bool> remove)
    {
        var candidate = (JsonObject)dep.Object.DeepClone();
        var meta = JsonUtil.Metadata(candidate);
        if (meta["ownerReferences"] is not JsonArray refs) return;
        foreach (var r in refs.Where(r => JsonUtil.Str(r?["uid"]) is { } u && remove(u)).ToList()) refs.Remove(r);
        if (refs.Count == 0) meta.Remove("ownerReferences");
        Commit(dep.Key, dep, candidate, "MODIFIED");
    }
}
