using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// Multi-document YAML to JSON, as the API server reads it: plain scalars resolve to null, booleans,
/// integers and floats; quoted scalars stay strings.
/// </summary>
public static partial class ManifestYaml
{
    /// <summary>Parses a YAML stream of Kubernetes objects (empty documents are skipped).</summary>
    /// <param name="yaml">The stream, documents separated by <c>---</c>.</param>
    /// <returns>One JSON object per document.</returns>
    /// <exception cref="FormatException">Invalid YAML, or a document that is not a mapping.</exception>
    public static IReadOnlyList<JsonObject> ParseStream(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new FormatException($"invalid YAML: {e.Message}", e);
        }

        var objects = new List<JsonObject>();
        foreach (var document in stream.Documents)
        {
            switch (Convert(document.RootNode))
            {
                case null:
                    break;
                case JsonObject obj:
                    objects.Add(obj);
                    break;
                default:
                    throw new FormatException($"a document at line {document.RootNode.Start.Line} is not a mapping");
            }
        }

        return objects;
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => ConvertMap(map),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Convert)]),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => throw new FormatException($"unsupported YAML node {node.NodeType} at line {node.Start.Line}"),
    };

    private static JsonObject ConvertMap(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = key is YamlScalarNode { Value: { } s } ? s : throw new FormatException($"non-scalar mapping key at line {key.Start.Line}");
            if (!obj.TryAdd(name, Convert(value)))
            {
                throw new FormatException($"duplicate key \"{name}\" at line {key.Start.Line}");
            }
        }

        return obj;
    }

    private static JsonNode? ConvertScalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:str"))
        {
            return JsonValue.Create(value);
        }

        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when IntegerPattern().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
            _ when FloatPattern().IsMatch(value) => JsonValue.Create(double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(value),
        };
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
