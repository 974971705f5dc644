using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A simplified strategic merge patch (<c>application/strategic-merge-patch+json</c>) for built-in
/// kinds, enough for kubectl's client-side apply, edit and label: merge-patch semantics, plus lists
/// of maps merged by a merge key (learned from the <c>$setElementOrder/&lt;field&gt;</c> directive,
/// else a table of the common keys: name, containerPort/port, mountPath, uid, type), item directives
/// <c>$patch: delete|replace</c>, <c>$deleteFromPrimitiveList/&lt;field&gt;</c>, <c>$retainKeys</c>,
/// and <c>finalizers</c> merged as a set. Other primitive lists are replaced. The real server uses
/// the Go struct tags of each kind; custom resources answer 415 as on a real server.
/// </summary>
public static class StrategicMergePatch
{
    /// <summary>Returns <paramref name="target"/> patched with <paramref name="patch"/>; the inputs are not modified.</summary>
    public static JsonObject Apply(JsonObject target, JsonObject patch)
    {
        var result = (JsonObject)target.DeepClone();
        MergeMap(result, patch);
        return result;
    }

    private static void MergeMap(JsonObject target, JsonObject patch)
    {
        if (JsonUtil.Str(patch["$patch"]) == "replace")
        {
            target.Clear();
            foreach (var (k, v) in Clean(patch)!.AsObject().ToList())
            {
                target[k] = v?.DeepClone();
            }
            return;
        }
        if (patch["$retainKeys"] is JsonArray retain)
        {
            var keep = retain.Select(JsonUtil.Str).OfType<string>().ToHashSet(StringComparer.Ordinal);
            foreach (var key in target.Select(kv => kv.Key).Where(k => !keep.Contains(k)).ToList()) target.Remove(key);
        }
        foreach (var (key, value) in patch)
        {
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (target[field] is JsonArray list && value is JsonArray remove)
                {
                    foreach (var item in list.Where(i => remove.Any(r => JsonUtil.DeepEquals(r, i))).ToList()) list.Remove(item);
                }
                continue;
            }
            if (key.StartsWith('$')) continue;
            if (value is null)
            {
                target.Remove(key);
                continue;
            }
            var existing = target[key];
            switch (value)
            {
                case JsonObject map when JsonUtil.Str(map["$patch"]) == "delete":
                    target.Remove(key);
                    break;
                case JsonObject map when existing is JsonObject existingMap:
                    MergeMap(existingMap, map);
                    break;
                case JsonArray list:
                    target[key] = MergeList(key, existing as JsonArray, list, patch[$"$setElementOrder/{key}"] as JsonArray);
                    break;
                default:
                    target[key] = Clean(value);
                    break;
            }
        }
    }

    private static JsonArray MergeList(string field, JsonArray? existing, JsonArray patch, JsonArray? order)
    {
        if (patch.Any(i => i is JsonObject o && JsonUtil.Str(o["$patch"]) == "replace"))
        {
            return new JsonArray(patch.Where(i => !(i is JsonObject o && o.ContainsKey("$patch"))).Select(Clean).ToArray());
        }
        if (field == "finalizers" && existing is not null && patch.All(i => i is JsonValue))
        {
            var union = (JsonArray)existing.DeepClone();
            foreach (var v in patch.Where(v => !union.Any(u => JsonUtil.DeepEquals(u, v)))) union.Add(v?.DeepClone());
            return union;
        }
        var key = MergeKey(field, patch, order);
        if (key is null || existing is null || !patch.All(i => i is JsonObject) || !existing.All(i => i is JsonObject))
        {
            return (JsonArray)Clean(patch)!;
        }
        var result = existing.Select(i => (JsonObject)i!.DeepClone()).ToList();
        foreach (var item in patch.Cast<JsonObject>())
        {
            var id = item[key];
            var match = result.FirstOrDefault(r => JsonUtil.DeepEquals(r[key], id));
            if (JsonUtil.Str(item["$patch"]) == "delete")
            {
                if (match is not null) result.Remove(match);
            }
            else if (match is not null)
            {
                MergeMap(match, item);
            }
            else
            {
                result.Add((JsonObject)Clean(item)!);
            }
        }
        if (order is not null)
        {
            var ids = order.OfType<JsonObject>().Select(o => o[key]).ToList();
            result = result.OrderBy(r =>
            {
                var idx = ids.FindIndex(id => JsonUtil.DeepEquals(id, r[key]));
                return idx < 0 ? int.MaxValue : idx;
            }).ToList();
        }
        return new JsonArray(result.Select(r => (JsonNode?)r).ToArray());
    }

    private static string? MergeKey(string field, JsonArray patch, JsonArray? order)
    {
        if (order?.FirstOrDefault() is JsonObject { Count: 1 } first) return first.First().Key;
        var items = patch.OfType<JsonObject>().ToList();
        bool All(string k) => items.Count > 0 && items.All(i => i.ContainsKey(k) || JsonUtil.Str(i["$patch"]) is not null);
        return field switch
        {
            "containers" or "initContainers" or "ephemeralContainers" or "env" or "volumes" or "imagePullSecrets" => "name",
            "ports" when All("containerPort") => "containerPort",
            "ports" when All("port") => "port",
            "volumeMounts" => "mountPath",
            "volumeDevices" => "devicePath",
            "ownerReferences" => "uid",
            "conditions" => "type",
            _ when All("name") => "name",
            _ => null,
        };
    }

    private static JsonNode? Clean(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(kv => !kv.Key.StartsWith('$'))
            .Select(kv => KeyValuePair.Create(kv.Key, Clean(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Clean).ToArray()),
        _ => node?.DeepClone(),
    };
}
