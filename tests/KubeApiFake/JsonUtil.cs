using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>Small helpers over <see cref="System.Text.Json.Nodes"/> used throughout the fake.</summary>
internal static class JsonUtil
{
    public static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly string[] MetadataOrder =
    [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
        "ownerReferences", "finalizers", "managedFields",
    ];

    public static byte[] ToUtf8(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, Compact);

    public static string ToText(JsonNode? node) => node is null ? "null" : node.ToJsonString(Compact);

    public static JsonObject Metadata(JsonObject obj)
    {
        if (obj["metadata"] is JsonObject m) return m;
        m = new JsonObject();
        obj["metadata"] = m;
        return m;
    }

    public static string? Str(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static string? MetaString(JsonObject obj, string field) => Str((obj["metadata"] as JsonObject)?[field]);

    public static bool DeepEquals(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(a, b);

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static Dictionary<string, string> Labels(JsonObject? obj)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if ((obj?["metadata"] as JsonObject)?["labels"] is JsonObject labels)
        {
            foreach (var (k, v) in labels)
            {
                result[k] = Str(v) ?? (v is null ? "" : ToText(v));
            }
        }
        return result;
    }

    public static bool TryGetNumber(JsonNode? node, out decimal value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue(out decimal d)) { value = d; return true; }
        if (v.TryGetValue(out long l)) { value = l; return true; }
        if (v.TryGetValue(out int i)) { value = i; return true; }
        if (v.TryGetValue(out double f))
        {
            try { value = (decimal)f; return true; }
            catch (OverflowException) { return false; }
        }
        if (v.TryGetValue(out JsonElement e) && e.TryGetDecimal(out d)) { value = d; return true; }
        return false;
    }

    public static long? TryGetLong(JsonNode? node) =>
        TryGetNumber(node, out var d) && decimal.Truncate(d) == d && d is >= long.MinValue and <= long.MaxValue ? (long)d : null;

    public static bool IsTrue(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    /// <summary>Walks the whole tree so that lazily parsed nodes are materialised (and duplicate keys fail) now.</summary>
    public static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o) Materialize(v);
                break;
            case JsonArray a:
                foreach (var v in a) Materialize(v);
                break;
        }
    }

    /// <summary>Puts kind, apiVersion, metadata first, and metadata fields in the order a real server prints them.</summary>
    public static void Normalize(JsonObject obj)
    {
        Reorder(obj, ["kind", "apiVersion", "metadata"]);
        if (obj["metadata"] is JsonObject meta) Reorder(meta, MetadataOrder);
    }

    private static void Reorder(JsonObject obj, IReadOnlyList<string> first)
    {
        var props = obj.ToList();
        obj.Clear();
        foreach (var key in first)
        {
            var idx = props.FindIndex(p => p.Key == key);
            if (idx >= 0)
            {
                obj[key] = props[idx].Value;
                props.RemoveAt(idx);
            }
        }
        foreach (var (k, v) in props) obj[k] = v;
    }

    /// <summary>Renders a value the way Kubernetes field errors do (<c>Invalid value: 500</c>, <c>"abc"</c>).</summary>
    public static string Render(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "\"object\"",
        JsonArray a => ToText(a),
        _ => ToText(node),
    };
}
