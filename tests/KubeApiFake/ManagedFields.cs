using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>One <c>metadata.managedFields[]</c> entry: who owns which fields, by which operation.</summary>
internal sealed class ManagedFieldsEntry
{
    public required string Manager { get; init; }

    public required string Operation { get; init; }

    public string Subresource { get; init; } = "";

    public string ApiVersion { get; set; } = "";

    public string Time { get; set; } = "";

    public FieldSet Fields { get; set; } = new();

    public bool SameIdentity(string manager, string operation, string subresource) =>
        Manager == manager && Operation == operation && Subresource == subresource;

    public string Describe() => $"\"{Manager}\"" + (Operation == "Update" ? $" using {ApiVersion}" : "");
}

/// <summary>Reads and writes <c>metadata.managedFields</c> and tracks ownership for non-apply writes.</summary>
internal static class ManagedFields
{
    public static List<ManagedFieldsEntry> Read(JsonObject? obj)
    {
        var list = new List<ManagedFieldsEntry>();
        if ((obj?["metadata"] as JsonObject)?["managedFields"] is not JsonArray entries) return list;
        foreach (var e in entries.OfType<JsonObject>())
        {
            var manager = JsonUtil.Str(e["manager"]);
            var operation = JsonUtil.Str(e["operation"]);
            if (manager is null || operation is null) continue;
            list.Add(new ManagedFieldsEntry
            {
                Manager = manager,
                Operation = operation,
                Subresource = JsonUtil.Str(e["subresource"]) ?? "",
                ApiVersion = JsonUtil.Str(e["apiVersion"]) ?? "",
                Time = JsonUtil.Str(e["time"]) ?? "",
                Fields = FieldSet.FromFieldsV1(e["fieldsV1"] as JsonObject),
            });
        }
        return list;
    }

    public static void Write(JsonObject obj, List<ManagedFieldsEntry> entries)
    {
        var meta = JsonUtil.Metadata(obj);
        var kept = entries.Where(e => e.Fields.Count > 0).ToList();
        if (kept.Count == 0)
        {
            meta.Remove("managedFields");
            return;
        }
        var array = new JsonArray();
        foreach (var e in kept)
        {
            var entry = new JsonObject
            {
                ["manager"] = e.Manager,
                ["operation"] = e.Operation,
                ["apiVersion"] = e.ApiVersion,
                ["time"] = e.Time,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = e.Fields.ToFieldsV1(),
            };
            if (e.Subresource.Length > 0) entry["subresource"] = e.Subresource;
            array.Add(entry);
        }
        meta["managedFields"] = array;
    }

    /// <summary>
    /// Ownership for an Update operation (POST, PUT, merge/json patch): the manager takes every
    /// field whose value it set or changed (other managers lose them); fields that disappeared are
    /// dropped from every manager.
    /// </summary>
    public static void TrackUpdate(JsonObject? old, JsonObject updated, string manager, FieldSet.Scope scope,
        string subresource, string apiVersion, string now)
    {
        // Entries come from the updated object, which carries the previous managedFields (and any
        // changes an earlier tracking pass made).
        var entries = Read(updated);
        var newFields = FieldSet.FromObject(updated, scope);
        var oldFields = old is null ? new FieldSet() : FieldSet.FromObject(old, scope);
        var changed = new List<string>();
        foreach (var path in newFields.Paths)
        {
            if (!oldFields.Contains(path))
            {
                changed.Add(path);
            }
            else if (!FieldSet.IsItemPath(path) && !JsonUtil.DeepEquals(FieldSet.Navigate(old, path), FieldSet.Navigate(updated, path)))
            {
                changed.Add(path);
            }
        }
        var removed = oldFields.Paths.Where(p => !newFields.Contains(p)).ToList();
        foreach (var e in entries)
        {
            e.Fields.ExceptWith(removed);
            if (!e.SameIdentity(manager, "Update", subresource)) e.Fields.ExceptWith(changed);
        }
        if (changed.Count > 0)
        {
            var mine = entries.FirstOrDefault(e => e.SameIdentity(manager, "Update", subresource));
            if (mine is null)
            {
                mine = new ManagedFieldsEntry { Manager = manager, Operation = "Update", Subresource = subresource };
                entries.Add(mine);
            }
            mine.Fields.UnionWith(changed);
            mine.ApiVersion = apiVersion;
            mine.Time = now;
        }
        Write(updated, entries);
    }

    /// <summary>A copy of managedFields without timestamps, for "did anything change" comparisons.</summary>
    public static JsonNode? WithoutTimes(JsonNode? managedFields)
    {
        if (managedFields is not JsonArray a) return managedFields?.DeepClone();
        var copy = (JsonArray)a.DeepClone();
        foreach (var e in copy.OfType<JsonObject>()) e.Remove("time");
        return copy;
    }
}
