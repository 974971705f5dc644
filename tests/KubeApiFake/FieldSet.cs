using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A set of field paths in the notation of <c>managedFields[].fieldsV1</c>: each path is a list of
/// segments <c>f:&lt;field&gt;</c> (map field) or <c>k:{"name":"x"}</c> (item of a list of maps keyed
/// by <c>name</c>). Members are leaves (scalars, atomic lists, empty maps) and keyed list items.
/// </summary>
internal sealed class FieldSet
{
    private const char Separator = '\u001f';
    private readonly HashSet<string> _paths;

    public FieldSet() => _paths = new HashSet<string>(StringComparer.Ordinal);

    private FieldSet(IEnumerable<string> paths) => _paths = new HashSet<string>(paths, StringComparer.Ordinal);

    /// <summary>Which part of an object a set covers.</summary>
    public enum Scope
    {
        /// <summary>Everything but apiVersion, kind, system metadata.</summary>
        All,

        /// <summary>Like <see cref="All"/> but without <c>.status</c> (main endpoint of a resource with a status subresource).</summary>
        WithoutStatus,

        /// <summary>Only <c>.status</c> (status subresource).</summary>
        StatusOnly,
    }

    public int Count => _paths.Count;

    public IEnumerable<string> Paths => _paths;

    public FieldSet Clone() => new(_paths);

    public bool Contains(string path) => _paths.Contains(path);

    public void Add(string path) => _paths.Add(path);

    public void Remove(string path) => _paths.Remove(path);

    public void UnionWith(IEnumerable<string> other) => _paths.UnionWith(other);

    public void ExceptWith(IEnumerable<string> other) => _paths.ExceptWith(other);

    public bool SetEquals(FieldSet other) => _paths.SetEquals(other._paths);

    /// <summary>True when the set holds <paramref name="path"/> or any path below it.</summary>
    public bool ContainsOrBelow(string path) =>
        _paths.Contains(path) || _paths.Any(p => p.StartsWith(path + Separator, StringComparison.Ordinal));

    public static string Join(string prefix, string segment) => prefix.Length == 0 ? segment : prefix + Separator + segment;

    public static string[] Segments(string path) => path.Split(Separator);

    public static bool IsItemPath(string path) => Segments(path)[^1].StartsWith("k:", StringComparison.Ordinal);

    /// <summary>Human form used in conflict messages: <c>.spec.containers[name="api"].image</c>.</summary>
    public static string Display(string path)
    {
        var parts = Segments(path).Select(s => s.StartsWith("f:", StringComparison.Ordinal)
            ? "." + s[2..]
            : s.StartsWith("k:", StringComparison.Ordinal) && JsonNode.Parse(s[2..]) is JsonObject key
                ? "[" + string.Join(",", key.Select(kv => $"{kv.Key}={JsonUtil.ToText(kv.Value)}")) + "]"
                : "." + s);
        return string.Concat(parts);
    }

    /// <summary>True for lists that are merged by item name: non-empty, every item a map with a unique string <c>name</c>.</summary>
    public static bool IsKeyedList(JsonArray list)
    {
        if (list.Count == 0) return false;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list)
        {
            if (item is not JsonObject o || JsonUtil.Str(o["name"]) is not { } name || !names.Add(name)) return false;
        }
        return true;
    }

    public static string ItemSegment(JsonObject item) =>
        "k:" + JsonUtil.ToText(new JsonObject { ["name"] = JsonUtil.Str(item["name"]) });

    /// <summary>Collects the leaf paths of an object within a scope.</summary>
    public static FieldSet FromObject(JsonObject obj, Scope scope)
    {
        var set = new FieldSet();
        foreach (var (key, value) in obj)
        {
            if (key is "apiVersion" or "kind") continue;
            if (key == "status" && scope == Scope.WithoutStatus) continue;
            if (key != "status" && scope == Scope.StatusOnly) continue;
            if (key == "metadata")
            {
                if (value is not JsonObject meta) continue;
                foreach (var (mk, mv) in meta)
                {
                    if (!IsOwnableMetadata(mk) || scope == Scope.StatusOnly) continue;
                    Collect(mv, Join("f:metadata", "f:" + mk), set);
                }
                continue;
            }
            Collect(value, "f:" + key, set);
        }
        return set;
    }

    public static bool IsOwnableMetadata(string field) => field is "labels" or "annotations" or "ownerReferences" or "finalizers";

    private static void Collect(JsonNode? node, string prefix, FieldSet set)
    {
        switch (node)
        {
            case JsonObject o when o.Count > 0:
                foreach (var (k, v) in o) Collect(v, Join(prefix, "f:" + k), set);
                break;
            case JsonArray a when IsKeyedList(a):
                foreach (var item in a.Cast<JsonObject>())
                {
                    var itemPath = Join(prefix, ItemSegment(item));
                    set.Add(itemPath);
                    foreach (var (k, v) in item) Collect(v, Join(itemPath, "f:" + k), set);
                }
                break;
            default:
                set.Add(prefix);
                break;
        }
    }

    /// <summary>Finds the node at a path (null when absent). Keyed items are found by name.</summary>
    public static JsonNode? Navigate(JsonNode? root, string path) => Navigate(root, path, out _);

    public static JsonNode? Navigate(JsonNode? root, string path, out bool found)
    {
        found = false;
        var current = root;
        foreach (var seg in Segments(path))
        {
            if (seg.StartsWith("f:", StringComparison.Ordinal))
            {
                if (current is not JsonObject o || !o.TryGetPropertyValue(seg[2..], out var child)) return null;
                current = child;
            }
            else if (seg.StartsWith("k:", StringComparison.Ordinal))
            {
                if (current is not JsonArray a) return null;
                var name = JsonUtil.Str((JsonNode.Parse(seg[2..]) as JsonObject)?["name"]);
                current = a.OfType<JsonObject>().FirstOrDefault(i => JsonUtil.Str(i["name"]) == name);
                if (current is null) return null;
            }
            else
            {
                return null;
            }
        }
        found = true;
        return current;
    }

    /// <summary>Removes the node at a path; parent maps left empty by the removal are removed too.</summary>
    public static void RemovePath(JsonObject root, string path)
    {
        var segs = Segments(path);
        var chain = new List<JsonNode> { root };
        JsonNode? current = root;
        for (var i = 0; i < segs.Length - 1; i++)
        {
            current = Navigate(current, segs[i]);
            if (current is null) return;
            chain.Add(current);
        }
        var last = segs[^1];
        var parent = chain[^1];
        if (last.StartsWith("f:", StringComparison.Ordinal) && parent is JsonObject po)
        {
            if (!po.Remove(last[2..])) return;
        }
        else if (last.StartsWith("k:", StringComparison.Ordinal) && parent is JsonArray pa && Navigate(pa, last) is { } item)
        {
            pa.Remove(item);
        }
        else
        {
            return;
        }
        // Prune maps that became empty, walking up; stop at the root and at list items.
        for (var i = chain.Count - 1; i >= 1; i--)
        {
            var node = chain[i];
            var empty = node is JsonObject { Count: 0 } || node is JsonArray { Count: 0 };
            if (!empty || segs[i - 1].StartsWith("k:", StringComparison.Ordinal)) break;
            if (chain[i - 1] is JsonObject owner) owner.Remove(segs[i - 1][2..]);
        }
    }

    public static FieldSet FromFieldsV1(JsonObject? fields)
    {
        var set = new FieldSet();
        if (fields is not null) Walk(fields, "", set);
        return set;
    }

    private static void Walk(JsonObject node, string prefix, FieldSet set)
    {
        foreach (var (key, child) in node)
        {
            if (key == ".")
            {
                if (prefix.Length > 0) set.Add(prefix);
                continue;
            }
            var path = Join(prefix, key);
            if (child is JsonObject c && c.Count > 0) Walk(c, path, set);
            else set.Add(path);
        }
    }

    public JsonObject ToFieldsV1()
    {
        var root = new JsonObject();
        foreach (var path in _paths)
        {
            JsonObject node = root;
            foreach (var seg in Segments(path))
            {
                if (node[seg] is not JsonObject next)
                {
                    next = new JsonObject();
                    node[seg] = next;
                }
                node = next;
            }
        }
        foreach (var path in _paths)
        {
            var node = root;
            foreach (var seg in Segments(path)) node = (JsonObject)node[seg]!;
            if (node.Count > 0 && !node.ContainsKey(".")) node["."] = new JsonObject();
        }
        return Sorted(root);
    }

    private static JsonObject Sorted(JsonObject node)
    {
        var result = new JsonObject();
        foreach (var key in node.Select(kv => kv.Key).OrderBy(k => k, StringComparer.Ordinal).ToList())
        {
            result[key] = Sorted((JsonObject)node[key]!);
        }
        return result;
    }
}
