using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Simplified server-side apply (<c>application/apply-patch+yaml</c>).
/// <para>Modelled: per-manager ownership of leaf field paths stored in <c>metadata.managedFields</c>
/// (fieldsV1 format, Apply and Update operations, status subresource separately); conflicts when an
/// applied value differs from a value owned by another manager (409 unless <c>force=true</c>, which
/// takes the fields over); fields the manager applied before but omits now are removed unless
/// another manager also owns them; maps merge recursively; lists of maps whose items all carry a
/// unique <c>name</c> merge by name (item ownership <c>k:{"name":..}</c>); every other list is atomic.</para>
/// <para>Not modelled: per-type schemas (list-type/map-keys from OpenAPI, e.g. Service ports keyed by
/// port+protocol, sets of scalars such as finalizers), conflicts on parent/child overlaps, version
/// conversion of managed fields, and the <c>v:</c>/<c>i:</c> path segments.</para>
/// </summary>
internal static class ServerSideApply
{
    /// <summary>Computes the object that results from applying <paramref name="applied"/> to <paramref name="live"/> (null: create).</summary>
    public static JsonObject Apply(ResourceType rt, JsonObject? live, JsonObject applied, string manager, bool force,
        bool statusSubresource, string now)
    {
        var scope = statusSubresource ? FieldSet.Scope.StatusOnly
            : rt.HasStatusSubresource ? FieldSet.Scope.WithoutStatus : FieldSet.Scope.All;
        var subresource = statusSubresource ? "status" : "";
        var newSet = FieldSet.FromObject(applied, scope);

        if (live is null)
        {
            var created = (JsonObject)applied.DeepClone();
            var entry = new ManagedFieldsEntry
            {
                Manager = manager, Operation = "Apply", Subresource = subresource,
                ApiVersion = rt.ApiVersion, Time = now, Fields = newSet,
            };
            ManagedFields.Write(created, [entry]);
            return created;
        }

        var entries = ManagedFields.Read(live);
        var mine = entries.FirstOrDefault(e => e.SameIdentity(manager, "Apply", subresource));
        var conflicts = new List<(string Path, ManagedFieldsEntry Owner)>();
        foreach (var path in newSet.Paths.OrderBy(p => p, StringComparer.Ordinal))
        {
            foreach (var other in entries)
            {
                if (ReferenceEquals(other, mine) || other.Subresource != subresource || !other.Fields.Contains(path)) continue;
                var liveValue = FieldSet.Navigate(live, path, out var found);
                var differs = FieldSet.IsItemPath(path)
                    ? !found
                    : !found || !JsonUtil.DeepEquals(liveValue, FieldSet.Navigate(applied, path));
                if (differs) conflicts.Add((path, other));
            }
        }
        if (conflicts.Count > 0)
        {
            if (!force) throw ConflictError(conflicts);
            foreach (var (path, owner) in conflicts) owner.Fields.Remove(path);
        }

        var result = (JsonObject)live.DeepClone();
        if (mine is not null)
        {
            var removed = mine.Fields.Paths.Where(p => !newSet.Contains(p))
                .OrderBy(p => FieldSet.Segments(p).Length).ThenBy(p => p, StringComparer.Ordinal).ToList();
            foreach (var path in removed)
            {
                var sharedWithOthers = entries.Any(e => !ReferenceEquals(e, mine) && e.Fields.ContainsOrBelow(path));
                if (!sharedWithOthers) FieldSet.RemovePath(result, path);
            }
        }
        MergeInto(result, applied);

        if (mine is null)
        {
            mine = new ManagedFieldsEntry { Manager = manager, Operation = "Apply", Subresource = subresource };
            entries.Add(mine);
        }
        mine.Fields = newSet;
        mine.ApiVersion = rt.ApiVersion;
        mine.Time = now;
        ManagedFields.Write(result, entries);
        return result;
    }

    /// <summary>Merges an applied configuration into a live object: maps recursively, keyed lists by name, the rest replaced.</summary>
    public static void MergeInto(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source.ToList())
        {
            if (value is null)
            {
                target.Remove(key);
                continue;
            }
            var existing = target[key];
            if (value is JsonObject sourceMap && existing is JsonObject targetMap)
            {
                MergeInto(targetMap, sourceMap);
            }
            else if (value is JsonArray sourceList && existing is JsonArray targetList
                     && FieldSet.IsKeyedList(sourceList) && (targetList.Count == 0 || FieldSet.IsKeyedList(targetList)))
            {
                target[key] = MergeKeyedList(targetList, sourceList);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    private static JsonArray MergeKeyedList(JsonArray live, JsonArray applied)
    {
        var result = new JsonArray();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in applied.Cast<JsonObject>())
        {
            var name = JsonUtil.Str(item["name"])!;
            used.Add(name);
            var match = live.OfType<JsonObject>().FirstOrDefault(i => JsonUtil.Str(i["name"]) == name);
            if (match is null)
            {
                result.Add(item.DeepClone());
            }
            else
            {
                var merged = (JsonObject)match.DeepClone();
                MergeInto(merged, item);
                result.Add(merged);
            }
        }
        foreach (var item in live)
        {
            if (item is JsonObject o && JsonUtil.Str(o["name"]) is { } n && used.Contains(n)) continue;
            result.Add(item?.DeepClone());
        }
        return result;
    }

    private static KubeApiException ConflictError(List<(string Path, ManagedFieldsEntry Owner)> conflicts)
    {
        var byOwner = conflicts.GroupBy(c => c.Owner.Describe()).ToList();
        string message;
        if (conflicts.Count == 1)
        {
            message = $"Apply failed with 1 conflict: conflict with {conflicts[0].Owner.Describe()}: {FieldSet.Display(conflicts[0].Path)}";
        }
        else
        {
            var parts = byOwner.Select(g =>
                (g.Count() == 1 ? "conflict with " : "conflicts with ") + g.Key + ":\n" +
                string.Join("\n", g.Select(c => "- " + FieldSet.Display(c.Path))));
            message = $"Apply failed with {conflicts.Count} conflicts: " + string.Join("\n", parts);
        }
        var causes = new JsonArray(conflicts.Select(c => (JsonNode)new JsonObject
        {
            ["reason"] = "FieldManagerConflict",
            ["message"] = $"conflict with {c.Owner.Describe()}",
            ["field"] = FieldSet.Display(c.Path),
        }).ToArray());
        return new KubeApiException(409, "Conflict", message, new JsonObject { ["causes"] = causes });
    }
}
