using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KubeApiFake;

/// <summary>
/// Parses a request body that may be JSON or YAML into a <see cref="JsonNode"/>, the way the API
/// server converts YAML to JSON (plain scalars resolve to null, booleans, integers and floats;
/// quoted scalars stay strings; YAML 1.1 booleans such as <c>yes</c>/<c>on</c> are honoured like go-yaml v2).
/// </summary>
public static partial class YamlToJson
{
    /// <summary>Parses JSON (tried first) or a single YAML document.</summary>
    /// <exception cref="FormatException">The text is neither valid JSON nor valid YAML.</exception>
    public static JsonNode? Parse(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            try
            {
                var node = JsonNode.Parse(text);
                JsonUtil.Materialize(node);
                return node;
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                // Fall through: it may still be YAML flow syntax.
            }
        }
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0) return null;
            return Convert(stream.Documents[0].RootNode);
        }
        catch (YamlException e)
        {
            throw new FormatException($"error converting YAML to JSON: yaml: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"error converting YAML to JSON: {e.Message}", e);
        }
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => ConvertMap(map),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => throw new FormatException($"unsupported YAML node {node.NodeType}"),
    };

    private static JsonObject ConvertMap(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in map.Children)
        {
            var key = k is YamlScalarNode s ? s.Value ?? "null" : throw new FormatException("YAML mapping keys must be scalars");
            if (obj.ContainsKey(key)) throw new FormatException($"error converting YAML to JSON: yaml: key \"{key}\" already set in map");
            obj[key] = Convert(v);
        }
        return obj;
    }

    private static JsonNode? ConvertScalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        var tag = scalar.Tag.IsEmpty ? "" : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str") return JsonValue.Create(value);
        if (scalar.Style != ScalarStyle.Plain && tag.Length == 0) return JsonValue.Create(value);
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N":
                return JsonValue.Create(false);
        }
        var clean = value.Replace("_", "", StringComparison.Ordinal);
        if (DecimalInt().IsMatch(clean))
        {
            if (long.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
            if (decimal.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return JsonValue.Create(big);
        }
        if (clean.StartsWith("0x", StringComparison.Ordinal)
            && long.TryParse(clean[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return JsonValue.Create(hex);
        }
        if (clean.StartsWith("0o", StringComparison.Ordinal) && OctalDigits().IsMatch(clean[2..]))
        {
            return JsonValue.Create(System.Convert.ToInt64(clean[2..], 8));
        }
        if (FloatNumber().IsMatch(clean)
            && double.TryParse(clean, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return JsonValue.Create(d);
        }
        return JsonValue.Create(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex DecimalInt();

    [GeneratedRegex("^[0-7]+$")]
    private static partial Regex OctalDigits();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatNumber();
}
