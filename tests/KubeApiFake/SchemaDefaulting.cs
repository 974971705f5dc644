using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Structural-schema handling of custom resources before validation, as the real server does it:
/// pruning of fields the schema does not declare (unless <c>x-kubernetes-preserve-unknown-fields</c>),
/// dropping nulls of non-nullable fields, then OpenAPI <c>default</c> values (objects recurse,
/// inserted defaults are themselves defaulted, array items and additionalProperties recurse).
/// apiVersion, kind and metadata at the root are left alone.
/// </summary>
internal static class SchemaDefaulting
{
    /// <summary>Removes unknown fields; returns their paths (e.g. <c>spec.foo</c>) for warnings or strict errors.</summary>
    public static List<string> Prune(JsonObject obj, JsonObject schema)
    {
        var unknown = new List<string>();
        PruneObject(obj, schema, "", unknown, root: true);
        return unknown;
    }

    /// <summary>Applies schema defaults in place.</summary>
    public static void ApplyDefaults(JsonObject obj, JsonObject schema) => DefaultNode(obj, schema, root: true);

    private static bool PreservesUnknown(JsonObject schema) => JsonUtil.IsTrue(schema["x-kubernetes-preserve-unknown-fields"]);

    private static bool Nullable(JsonObject? schema) => JsonUtil.IsTrue(schema?["nullable"]);

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

    private static void PruneNode(JsonNode? node, JsonObject? schema, string path, List<string> unknown)
    {
        if (schema is null) return;
        switch (node)
        {
            case JsonObject o:
                PruneObject(o, schema, path, unknown, root: false);
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                for (var i = 0; i < a.Count; i++) PruneNode(a[i], items, $"{path}[{i}]", unknown);
                break;
        }
    }

    private static void PruneObject(JsonObject obj, JsonObject schema, string path, List<string> unknown, bool root)
    {
        var embedded = JsonUtil.IsTrue(schema["x-kubernetes-embedded-resource"]);
        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"];
        foreach (var key in obj.Select(kv => kv.Key).ToList())
        {
            if (root && key is "apiVersion" or "kind" or "metadata") continue;
            if (embedded && key is "apiVersion" or "kind" or "metadata") continue;
            var childPath = Join(path, key);
            JsonObject? childSchema = null;
            if (properties is not null && properties[key] is JsonObject ps) childSchema = ps;
            else if (additional is JsonObject aps) childSchema = aps;
            else if (JsonUtil.IsTrue(additional) || PreservesUnknown(schema)) continue;
            if (childSchema is null)
            {
                obj.Remove(key);
                unknown.Add(childPath);
                continue;
            }
            if (obj[key] is null && !Nullable(childSchema))
            {
                obj.Remove(key);
                continue;
            }
            PruneNode(obj[key], childSchema, childPath, unknown);
        }
    }

    private static void DefaultNode(JsonNode? node, JsonObject? schema, bool root = false)
    {
        if (schema is null) return;
        switch (node)
        {
            case JsonObject o:
                if (schema["properties"] is JsonObject properties)
                {
                    foreach (var (key, ps) in properties)
                    {
                        if (root && key is "apiVersion" or "kind" or "metadata") continue;
                        if (ps is JsonObject propertySchema && propertySchema.ContainsKey("default") && !o.ContainsKey(key))
                        {
                            o[key] = propertySchema["default"]?.DeepClone();
                        }
                    }
                    foreach (var (key, child) in o.ToList())
                    {
                        if (root && key is "apiVersion" or "kind" or "metadata") continue;
                        if (properties[key] is JsonObject cs) DefaultNode(child, cs);
                        else if (schema["additionalProperties"] is JsonObject aps) DefaultNode(child, aps);
                    }
                }
                else if (schema["additionalProperties"] is JsonObject aps)
                {
                    foreach (var (_, child) in o.ToList()) DefaultNode(child, aps);
                }
                break;
            case JsonArray a when schema["items"] is JsonObject items:
                foreach (var item in a) DefaultNode(item, items);
                break;
        }
    }
}
