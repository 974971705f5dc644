using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The JSONPath subset CRDs use in <c>additionalPrinterColumns</c> and scale paths (client-go's
/// k8s.io/client-go/util/jsonpath, as the API server evaluates them): <c>.a.b</c>, <c>['a']</c>,
/// <c>[n]</c>, <c>[*]</c> and filters <c>[?(@.x.y=="v")]</c> / <c>!=</c> over arrays; an optional
/// surrounding <c>{}</c>. Missing keys give no result (AllowMissingKeys).
/// </summary>
internal static class SimpleJsonPath
{
    /// <summary>Every node <paramref name="path"/> selects from <paramref name="root"/>, in document order.</summary>
    /// <exception cref="FormatException">The path is outside the supported subset.</exception>
    public static List<JsonNode?> Find(JsonNode? root, string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}')) p = p[1..^1].Trim();
        if (p.StartsWith('$')) p = p[1..];
        List<JsonNode?> current = [root];
        var i = 0;
        while (i < p.Length)
        {
            if (p[i] == '.')
            {
                var start = ++i;
                while (i < p.Length && p[i] != '.' && p[i] != '[') i++;
                var key = p[start..i];
                if (key.Length == 0) throw new FormatException($"unsupported JSONPath {path}");
                current = key == "*" ? current.SelectMany(Children).ToList() : current.Select(n => (n as JsonObject)?[key]).Where(n => n is not null).ToList();
            }
            else if (p[i] == '[')
            {
                var end = Close(p, i, path);
                var inner = p[(i + 1)..end].Trim();
                i = end + 1;
                current = Select(current, inner, path);
            }
            else
            {
                throw new FormatException($"unsupported JSONPath {path}");
            }
        }
        return current;
    }

    /// <summary>The first result, or null when there is none.</summary>
    public static JsonNode? First(JsonNode? root, string path) => Find(root, path) is [var first, ..] ? first : null;

    private static int Close(string p, int open, string path)
    {
        var quote = '\0';
        for (var j = open + 1; j < p.Length; j++)
        {
            var c = p[j];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == ']')
            {
                return j;
            }
        }
        throw new FormatException($"unterminated [ in JSONPath {path}");
    }

    private static IEnumerable<JsonNode?> Children(JsonNode? node) => node switch
    {
        JsonArray a => a,
        JsonObject o => o.Select(kv => kv.Value),
        _ => [],
    };

    private static List<JsonNode?> Select(List<JsonNode?> current, string inner, string path)
    {
        if (inner == "*") return current.SelectMany(Children).ToList();
        if (inner.Length >= 2 && inner[0] is '"' or '\'' && inner[^1] == inner[0])
        {
            var key = inner[1..^1];
            return current.Select(n => (n as JsonObject)?[key]).Where(n => n is not null).ToList();
        }
        if (int.TryParse(inner, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
        {
            return current.OfType<JsonArray>()
                .Select(a => index < 0 ? (a.Count + index >= 0 ? a[a.Count + index] : null) : (index < a.Count ? a[index] : null))
                .Where(n => n is not null).ToList();
        }
        if (inner.StartsWith("?(", StringComparison.Ordinal) && inner.EndsWith(')'))
        {
            var filter = inner[2..^1].Trim();
            var op = filter.Contains("!=", StringComparison.Ordinal) ? "!=" : filter.Contains("==", StringComparison.Ordinal) ? "==" : null;
            if (op is null)
            {
                // [?(@.field)]: the items where the field exists.
                var existsPath = filter.StartsWith('@') ? filter[1..] : throw new FormatException($"unsupported filter in JSONPath {path}");
                return current.SelectMany(Children).Where(item => Find(item, existsPath).Count > 0).ToList();
            }
            var at = filter.IndexOf(op, StringComparison.Ordinal);
            var left = filter[..at].Trim();
            var right = filter[(at + 2)..].Trim();
            if (!left.StartsWith('@')) throw new FormatException($"unsupported filter in JSONPath {path}");
            var expected = Literal(right);
            return current.SelectMany(Children).Where(item =>
            {
                var equal = Find(item, left[1..]).Any(v => Scalar(v) == expected);
                return op == "==" ? equal : !equal;
            }).ToList();
        }
        throw new FormatException($"unsupported JSONPath {path}");
    }

    private static string Literal(string text) =>
        text.Length >= 2 && text[0] is '"' or '\'' && text[^1] == text[0] ? text[1..^1] : text;

    private static string? Scalar(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };
}
