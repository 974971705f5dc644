using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>Create, update, patch and apply: one pipeline shared by all writes.</summary>
public sealed partial class ResourceStore
{
    private static readonly string[] SystemMetadata =
        ["uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"];

    internal (int Code, JsonObject Body) Create(ResourceType rt, string? ns, JsonObject body, WriteOptions o)
    {
        lock (_lock)
        {
            CheckTypeMeta(rt, body);
            return CreateLocked(rt, ns, body, o, ownershipDone: false);
        }
    }

    internal (int Code, JsonObject Body) Replace(ResourceType rt, string? ns, string name, JsonObject body, WriteOptions o, bool statusWrite)
    {
        lock (_lock)
        {
            var old = Find(rt, ns, name) ?? throw StatusResponses.NotFound(rt, name);
            CheckTypeMeta(rt, body);
            CheckIdentity(rt, body, ns, name);
            var rv = JsonUtil.MetaString(body, "resourceVersion");
            // An empty resourceVersion means an unconditional update (as most built-in kinds allow).
            if (!string.IsNullOrEmpty(rv) && rv != old.Rv) throw StatusResponses.Conflict(rt, name);
            return CommitUpdateLocked(rt, old, body, o, statusWrite, ownershipDone: false);
        }
    }

    internal (int Code, JsonObject Body) Patch(ResourceType rt, string? ns, string name, string mediaType, string body,
        WriteOptions o, bool statusWrite)
    {
        switch (mediaType)
        {
            case "application/strategic-merge-patch+json" when rt.IsCustomResource:
                // As on a real server: custom resources do not support strategic merge patch.
                throw StatusResponses.UnsupportedMediaType(mediaType);
            case "application/merge-patch+json":
            case "application/json-patch+json":
            case "application/strategic-merge-patch+json":
            {
                if (o.Force)
                {
                    throw new KubeApiException(422, "Invalid",
                        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
                        new JsonObject
                        {
                            ["group"] = "meta.k8s.io",
                            ["kind"] = "PatchOptions",
                            ["causes"] = new JsonArray(new JsonObject
                            {
                                ["reason"] = "FieldValueForbidden",
                                ["message"] = "Forbidden: may not be specified for non-apply patch",
                                ["field"] = "force",
                            }),
                        });
                }
                JsonNode? patch;
                try
                {
                    patch = JsonNode.Parse(body);
                    JsonUtil.Materialize(patch);
                }
                catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
                {
                    throw StatusResponses.BadRequest($"error decoding patch: {e.Message}");
                }
                lock (_lock)
                {
                    var old = Find(rt, ns, name) ?? throw StatusResponses.NotFound(rt, name);
                    JsonNode? result;
                    if (mediaType == "application/merge-patch+json")
                    {
                        result = MergePatch.Apply(old.Object, patch);
                    }
                    else if (mediaType == "application/strategic-merge-patch+json")
                    {
                        if (patch is not JsonObject patchObject) throw StatusResponses.BadRequest("strategic merge patch must be a JSON object");
                        result = StrategicMergePatch.Apply(old.Object, patchObject);
                    }
                    else
                    {
                        if (patch is not JsonArray operations) throw StatusResponses.BadRequest("json patch must be an array of operations");
                        try
                        {
                            result = JsonPatch.Apply(old.Object, operations);
                        }
                        catch (InvalidOperationException e)
                        {
                            throw new KubeApiException(422, "Invalid", e.Message);
                        }
                        catch (FormatException e)
                        {
                            throw StatusResponses.BadRequest(e.Message);
                        }
                    }
                    if (result is not JsonObject candidate) throw StatusResponses.BadRequest("the patched document is not a JSON object");
                    CheckTypeMeta(rt, candidate);
                    CheckIdentity(rt, candidate, ns, name);
                    var rv = JsonUtil.MetaString(candidate, "resourceVersion");
                    if (!string.IsNullOrEmpty(rv) && rv != old.Rv) throw StatusResponses.Conflict(rt, name);
                    return CommitUpdateLocked(rt, old, candidate, o, statusWrite, ownershipDone: false);
                }
            }
            case "application/apply-patch+yaml":
                return Apply(rt, ns, name, body, o, statusWrite);
            default:
                throw StatusResponses.UnsupportedMediaType(mediaType);
        }
    }

    private (int Code, JsonObject Body) Apply(ResourceType rt, string? ns, string name, string body, WriteOptions o, bool statusWrite)
    {
        if (!o.ExplicitManager)
        {
            throw StatusResponses.BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
        }
        JsonNode? parsed;
        try
        {
            parsed = YamlToJson.Parse(body);
        }
        catch (FormatException e)
        {
            throw StatusResponses.BadRequest(e.Message);
        }
        if (parsed is not JsonObject applied) throw StatusResponses.BadRequest("error decoding YAML: the applied configuration must be an object");
        if (string.IsNullOrEmpty(JsonUtil.Str(applied["kind"])))
        {
            throw StatusResponses.BadRequest($"Object 'Kind' is missing in '{JsonUtil.ToText(applied)}'");
        }
        if (string.IsNullOrEmpty(JsonUtil.Str(applied["apiVersion"])))
        {
            throw StatusResponses.BadRequest($"Object 'apiVersion' is missing in '{JsonUtil.ToText(applied)}'");
        }
        var meta = JsonUtil.Metadata(applied);
        var bodyName = JsonUtil.Str(meta["name"]);
        if (string.IsNullOrEmpty(bodyName)) meta["name"] = name;
        var bodyRv = JsonUtil.Str(meta["resourceVersion"]);
        lock (_lock)
        {
            CheckTypeMeta(rt, applied);
            CheckIdentity(rt, applied, ns, name);
            if (rt.Namespaced) meta["namespace"] = ns;
            else meta.Remove("namespace");
            foreach (var field in SystemMetadata) meta.Remove(field);
            var old = Find(rt, ns, name);
            if (statusWrite && old is null) throw StatusResponses.NotFound(rt, name);
            if (!string.IsNullOrEmpty(bodyRv) && bodyRv != old?.Rv) throw StatusResponses.Conflict(rt, name);
            if (rt.IsCustomResource && rt.Schema is { } schema) HandleUnknownFields(SchemaDefaulting.Prune(applied, schema), o);
            if (statusWrite)
            {
                var statusOnly = new JsonObject
                {
                    ["apiVersion"] = applied["apiVersion"]?.DeepClone(),
                    ["kind"] = applied["kind"]?.DeepClone(),
                    ["metadata"] = new JsonObject { ["name"] = name },
                };
                if (rt.Namespaced) ((JsonObject)statusOnly["metadata"]!)["namespace"] = ns;
                if (applied["status"] is { } s) statusOnly["status"] = s.DeepClone();
                applied = statusOnly;
            }
            else if (rt.HasStatusSubresource)
            {
                applied.Remove("status");
            }
            var candidate = ServerSideApply.Apply(rt, old?.Object, applied, o.Manager, o.Force, statusWrite, Now());
            return old is null
                ? CreateLocked(rt, ns, candidate, o, ownershipDone: true)
                : CommitUpdateLocked(rt, old, candidate, o, statusWrite, ownershipDone: true);
        }
    }

    private static void HandleUnknownFields(List<string> unknown, WriteOptions o)
    {
        if (unknown.Count == 0 || o.FieldValidation == "Ignore") return;
        var messages = unknown.Select(u => $"unknown field \"{u}\"").ToList();
        if (o.FieldValidation == "Strict") throw StatusResponses.BadRequest("strict decoding error: " + string.Join(", ", messages));
        o.Warnings.AddRange(messages);
    }

    private static void CheckTypeMeta(ResourceType rt, JsonObject obj)
    {
        var apiVersion = JsonUtil.Str(obj["apiVersion"]);
        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != rt.ApiVersion)
        {
            var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
            if (group != rt.Group)
            {
                throw StatusResponses.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({rt.ApiVersion})");
            }
        }
        var kind = JsonUtil.Str(obj["kind"]);
        if (!string.IsNullOrEmpty(kind) && kind != rt.Kind)
        {
            throw StatusResponses.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({rt.Kind})");
        }
        obj["apiVersion"] = rt.ApiVersion;
        obj["kind"] = rt.Kind;
    }

    private static void CheckIdentity(ResourceType rt, JsonObject obj, string? ns, string name)
    {
        var meta = JsonUtil.Metadata(obj);
        var bodyName = JsonUtil.Str(meta["name"]);
        if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
        {
            throw StatusResponses.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }
        var bodyNs = JsonUtil.Str(meta["namespace"]);
        if (rt.Namespaced && !string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw StatusResponses.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }
    }

    private (int Code, JsonObject Body) CreateLocked(ResourceType rt, string? ns, JsonObject obj, WriteOptions o, bool ownershipDone)
    {
        var meta = JsonUtil.Metadata(obj);
        if (rt.Namespaced)
        {
            if (string.IsNullOrEmpty(ns)) throw StatusResponses.BadRequest("the namespace of the object must be set for a namespaced resource");
            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
            ns = null;
        }
        if (!o.Raw && !string.IsNullOrEmpty(JsonUtil.Str(meta["resourceVersion"])))
        {
            throw StatusResponses.InternalError("resourceVersion should not be set on objects to be created");
        }
        var name = JsonUtil.Str(meta["name"]);
        var displayName = string.IsNullOrEmpty(name) ? JsonUtil.Str(meta["generateName"]) ?? "" : name;
        if (string.IsNullOrEmpty(name))
        {
            var prefix = JsonUtil.Str(meta["generateName"]);
            if (string.IsNullOrEmpty(prefix))
            {
                throw StatusResponses.Invalid(rt, "", [new FieldCause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]);
            }
            for (var attempt = 0; ; attempt++)
            {
                name = (prefix.Length > 58 ? prefix[..58] : prefix) + RandomSuffix();
                if (Find(rt, ns, name) is null) break;
                if (attempt > 8) throw StatusResponses.AlreadyExists(rt, name);
            }
            meta["name"] = name;
        }
        if (!o.Raw)
        {
            var causes = ObjectValidation.Name(rt, name).ToList();
            if (causes.Count > 0) throw StatusResponses.Invalid(rt, name, causes);
        }
        if (_options.RequireNamespace && rt.Namespaced && !_objects.ContainsKey(new ResourceKey("", "namespaces", "", ns!)))
        {
            throw StatusResponses.NotFound(KnownResources.All[0], ns!);
        }
        var key = KeyOf(rt, ns, name);
        if (_objects.ContainsKey(key)) throw StatusResponses.AlreadyExists(rt, name);

        foreach (var field in SystemMetadata)
        {
            if (field != "managedFields" || !ownershipDone) meta.Remove(field);
        }
        meta["uid"] = Guid.NewGuid().ToString();
        meta["generation"] = 1;
        meta["creationTimestamp"] = Now();
        if (rt.HasStatusSubresource && !o.Raw) obj.Remove("status");
        Prepare(rt, obj, null, o);
        if (!o.Raw && _options.EmulateCluster && rt is { Group: "", Plural: "pods" }) AdmitPodLocked(ns!, obj, displayName);
        if (!o.Raw) Validate(rt, obj, null, name);
        if (!ownershipDone) TrackOwnership(rt, null, obj, o, statusWrite: false);
        JsonUtil.Normalize(obj);
        if (o.DryRun) return (201, Output(rt, obj));
        var stored = Commit(key, null, obj, "ADDED");
        var body = Output(rt, stored.Object);

        // The garbage collector deletes a dependent all of whose owners are gone, also one created
        // after its owner was deleted: attemptToDeleteItem finds every owner absent ("dangling") and
        // deletes it (pkg/controller/garbagecollector/garbagecollector.go, classifyReferences). The
        // real collector does so moments later; the fake at once, after the create has answered.
        var owners = OwnerUids(stored.Object);
        if (owners.Count > 0 && !owners.Any(_byUid.ContainsKey)) DeleteObjectLocked(stored, "Background");
        return (201, body);
    }

    private (int Code, JsonObject Body) CommitUpdateLocked(ResourceType rt, StoredObject old, JsonObject candidate, WriteOptions o,
        bool statusWrite, bool ownershipDone)
    {
        var oldObj = old.Object;
        var oldMeta = (JsonObject)oldObj["metadata"]!;
        if (statusWrite)
        {
            // Status subresource: only .status of the request counts.
            var status = candidate["status"]?.DeepClone();
            var managed = ownershipDone ? JsonUtil.Metadata(candidate)["managedFields"]?.DeepClone() : null;
            candidate = (JsonObject)oldObj.DeepClone();
            if (status is null) candidate.Remove("status");
            else candidate["status"] = status;
            if (ownershipDone) SetOrRemove(JsonUtil.Metadata(candidate), "managedFields", managed);
        }
        else if (rt.HasStatusSubresource && !o.Raw)
        {
            // Main endpoint of a resource with a status subresource: .status changes are ignored.
            SetOrRemove(candidate, "status", oldObj["status"]?.DeepClone());
        }

        var meta = JsonUtil.Metadata(candidate);
        var name = old.Key.Name;
        var uid = JsonUtil.Str(meta["uid"]);
        if (!o.Raw && !string.IsNullOrEmpty(uid) && uid != old.Uid)
        {
            throw StatusResponses.Invalid(rt, name, [new FieldCause("FieldValueInvalid", $"Invalid value: \"{uid}\": field is immutable", "metadata.uid")]);
        }
        foreach (var field in new[] { "name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion" })
        {
            SetOrRemove(meta, field, oldMeta[field]?.DeepClone());
        }
        meta.Remove("selfLink");
        if (!ownershipDone) SetOrRemove(meta, "managedFields", oldMeta["managedFields"]?.DeepClone());
        if (!o.Raw && oldMeta["deletionTimestamp"] is not null)
        {
            var before = Strings(oldMeta["finalizers"]);
            var added = Strings(meta["finalizers"]).Where(f => !before.Contains(f)).ToList();
            if (added.Count > 0)
            {
                throw StatusResponses.Invalid(rt, name, [new FieldCause("FieldValueForbidden",
                    $"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(a => $"\"{a}\""))}}}",
                    "metadata.finalizers")]);
            }
        }

        Prepare(rt, candidate, oldObj, o);
        if (!o.Raw) Validate(rt, candidate, oldObj, name);
        if (!ownershipDone) TrackOwnership(rt, oldObj, candidate, o, statusWrite);
        JsonUtil.Normalize(candidate);

        if (SameContent(oldObj, candidate)) return (200, Output(rt, oldObj));
        if (SpecChanged(oldObj, candidate))
        {
            meta["generation"] = (JsonUtil.TryGetLong(oldMeta["generation"]) ?? 0) + 1;
        }
        if (o.DryRun) return (200, Output(rt, candidate));
        if (meta["deletionTimestamp"] is not null && meta["finalizers"] is not JsonArray { Count: > 0 } && DeletesOnUpdate(old))
        {
            return (200, Output(rt, FinalizeDeletion(old, candidate, "Background")));
        }
        var stored = Commit(old.Key, old, candidate, "MODIFIED");
        return (200, Output(rt, stored.Object));
    }

    private static void SetOrRemove(JsonObject obj, string key, JsonNode? value)
    {
        if (value is null) obj.Remove(key);
        else obj[key] = value;
    }

    private static List<string> Strings(JsonNode? node) =>
        (node as JsonArray)?.Select(JsonUtil.Str).OfType<string>().ToList() ?? [];

    private void Prepare(ResourceType rt, JsonObject obj, JsonObject? old, WriteOptions o)
    {
        if (rt.Group.Length == 0 && rt.Plural == "secrets") Defaulting.SecretData(obj);
        if (rt.IsCustomResource && rt.Schema is { } schema)
        {
            HandleUnknownFields(SchemaDefaulting.Prune(obj, schema), o);
            SchemaDefaulting.ApplyDefaults(obj, schema);
        }
        Defaulting.Apply(rt, obj, old, AllocateClusterIp, Now());
    }

    private static void Validate(ResourceType rt, JsonObject obj, JsonObject? old, string name)
    {
        var causes = ObjectValidation.Validate(rt, obj, old);
        if (rt.IsCustomResource && rt.Schema is { } schema)
        {
            // Validation ratcheting (KEP-4008, GA in Kubernetes 1.30): on update, a schema error in a
            // field whose value did not change is let through, so objects stored under an older,
            // looser schema can still have their status written.
            causes.AddRange(SchemaValidation.Validate(obj, schema)
                .Where(c => old is null || !JsonNode.DeepEquals(SchemaValidation.At(obj, c.Field), SchemaValidation.At(old, c.Field))
                    || SchemaValidation.At(obj, c.Field) is null));
        }
        if (causes.Count > 0) throw StatusResponses.Invalid(rt, name, causes);
    }

    private void TrackOwnership(ResourceType rt, JsonObject? old, JsonObject candidate, WriteOptions o, bool statusWrite)
    {
        var now = Now();
        if (statusWrite)
        {
            ManagedFields.TrackUpdate(old, candidate, o.Manager, FieldSet.Scope.StatusOnly, "status", rt.ApiVersion, now);
        }
        else if (rt.HasStatusSubresource)
        {
            ManagedFields.TrackUpdate(old, candidate, o.Manager, FieldSet.Scope.WithoutStatus, "", rt.ApiVersion, now);
            if (o.Raw) ManagedFields.TrackUpdate(old, candidate, o.Manager, FieldSet.Scope.StatusOnly, "status", rt.ApiVersion, now);
        }
        else
        {
            ManagedFields.TrackUpdate(old, candidate, o.Manager, FieldSet.Scope.All, "", rt.ApiVersion, now);
        }
    }

    /// <summary>True when nothing but resourceVersion and managedFields timestamps differ: such a write is a no-op.</summary>
    private static bool SameContent(JsonObject a, JsonObject b) => JsonUtil.DeepEquals(Comparable(a), Comparable(b));

    private static JsonObject Comparable(JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        var meta = JsonUtil.Metadata(copy);
        meta.Remove("resourceVersion");
        SetOrRemove(meta, "managedFields", ManagedFields.WithoutTimes(meta["managedFields"]));
        return copy;
    }

    /// <summary>Generation moves when anything outside metadata and status changes.</summary>
    private static bool SpecChanged(JsonObject a, JsonObject b) =>
        a.Select(p => p.Key).Union(b.Select(p => p.Key))
            .Where(k => k is not ("metadata" or "status" or "apiVersion" or "kind"))
            .Any(k => !JsonUtil.DeepEquals(a[k], b[k]));

    private StoredObject Commit(ResourceKey key, StoredObject? old, JsonObject obj, string type)
    {
        _resourceVersion++;
        JsonUtil.Metadata(obj)["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        var json = JsonUtil.ToUtf8(obj);
        var uid = JsonUtil.MetaString(obj, "uid") ?? "";
        var stored = new StoredObject(key, obj, json, _resourceVersion, uid);
        _objects[key] = stored;
        if (uid.Length > 0) _byUid[uid] = key;
        _hub.Record(new WatchEvent(type, key, _resourceVersion, obj, json, old?.Object));
        if (IsCrd(key)) SyncCrd(key.Name, obj);
        _signal.Pulse();
        ReactLocked(type, key);
        return stored;
    }

    private static bool IsCrd(ResourceKey key) => key.Group == "apiextensions.k8s.io" && key.Resource == "customresourcedefinitions";

    private void SyncCrd(string crdName, JsonObject crd)
    {
        if (_crdTypes.Remove(crdName, out var previous))
        {
            foreach (var t in previous) _types.Remove(t);
        }
        var types = CustomResourceDefinitions.ToResourceTypes(crd);
        foreach (var t in types)
        {
            _types.RemoveAll(x => x.Group == t.Group && x.Version == t.Version && x.Plural == t.Plural);
            _types.Add(t);
        }
        _crdTypes[crdName] = types;
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        });
    }
}
