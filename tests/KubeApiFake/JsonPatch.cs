using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>JSON patch, RFC 6902 (<c>application/json-patch+json</c>): add, remove, replace, move, copy, test.</summary>
public static class JsonPatch
{
    /// <summary>Applies the operations to a copy of <paramref name="document"/>.</summary>
    /// <exception cref="InvalidOperationException">An operation failed (bad path, failed test).</exception>
    /// <exception cref="FormatException">The patch document is malformed.</exception>
    public static JsonNode? Apply(JsonNode? document, JsonArray operations)
    {
        var root = new JsonObject { ["doc"] = document?.DeepClone() };
        foreach (var item in operations)
        {
            if (item is not JsonObject op) throw new FormatException("json patch operations must be objects");
            var kind = JsonUtil.Str(op["op"]) ?? throw new FormatException("missing 'op' in json patch operation");
            var path = JsonUtil.Str(op["path"]) ?? throw new FormatException("missing 'path' in json patch operation");
            switch (kind)
            {
                case "add":
                    Add(root, path, RequireValue(op));
                    break;
                case "remove":
                    Remove(root, path);
                    break;
                case "replace":
                    Remove(root, path);
                    Add(root, path, RequireValue(op));
                    break;
                case "move":
                {
                    var from = JsonUtil.Str(op["from"]) ?? throw new FormatException("missing 'from' in move");
                    var value = Get(root, from);
                    Remove(root, from);
                    Add(root, path, value);
                    break;
                }
                case "copy":
                {
                    var from = JsonUtil.Str(op["from"]) ?? throw new FormatException("missing 'from' in copy");
                    Add(root, path, Get(root, from)?.DeepClone());
                    break;
                }
                case "test":
                    if (!JsonUtil.DeepEquals(Get(root, path), op["value"]))
                    {
                        throw new InvalidOperationException($"testing value {path} failed: test failed");
                    }
                    break;
                default:
                    throw new FormatException($"Unexpected kind: {kind}");
            }
        }
        var result = root["doc"];
        root.Remove("doc");
        return result;
    }

    private static JsonNode? RequireValue(JsonObject op) =>
        op.ContainsKey("value") ? op["value"]?.DeepClone() : throw new FormatException("missing 'value' in json patch operation");

    private static List<string> Tokens(string path)
    {
        if (path.Length == 0) return [];
        if (path[0] != '/') throw new FormatException($"JSON pointer must start with '/': {path}");
        return path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    private static (JsonNode Parent, string Token) Parent(JsonObject root, string path)
    {
        var tokens = Tokens(path);
        tokens.Insert(0, "doc");
        JsonNode current = root;
        for (var i = 0; i < tokens.Count - 1; i++)
        {
            current = Child(current, tokens[i]) ?? throw new InvalidOperationException($"doc is missing path: \"{path}\": missing value");
        }
        return (current, tokens[^1]);
    }

    private static JsonNode? Child(JsonNode node, string token) => node switch
    {
        JsonObject o => o[token],
        JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
        _ => null,
    };

    private static JsonNode? Get(JsonObject root, string path)
    {
        var (parent, token) = Parent(root, path);
        if (parent is JsonObject o && o.ContainsKey(token)) return o[token];
        if (parent is JsonArray a && int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count) return a[i];
        throw new InvalidOperationException($"doc is missing path: \"{path}\": missing value");
    }

    private static void Add(JsonObject root, string path, JsonNode? value)
    {
        var (parent, token) = Parent(root, path);
        switch (parent)
        {
            case JsonObject o:
                o[token] = value;
                break;
            case JsonArray a when token == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw new InvalidOperationException($"add operation does not apply: doc is missing path: \"{path}\": missing value");
        }
    }

    private static void Remove(JsonObject root, string path)
    {
        var (parent, token) = Parent(root, path);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(token):
                o.Remove(token);
                break;
            case JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw new InvalidOperationException($"remove operation does not apply: doc is missing path: \"{path}\": missing value");
        }
    }
}
