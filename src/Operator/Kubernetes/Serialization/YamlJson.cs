using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace UserApiOperator.Kubernetes.Serialization;

/// <summary>
/// Converts between YAML documents and JSON trees the way <c>kubectl</c> does: YAML is only a
/// surface syntax for the JSON object model. Plain scalars resolve to null, booleans, integers and
/// floats; like kubectl's YAML reader (sigs.k8s.io/yaml, YAML 1.1) <c>yes</c>/<c>no</c>/<c>on</c>/<c>off</c>
/// (and <c>y</c>/<c>n</c>) are booleans too. Quoted scalars are always strings.
/// </summary>
public static partial class YamlJson
{
    /// <summary>
    /// Parses every document of a YAML stream into a JSON tree; empty documents are skipped.
    /// </summary>
    /// <exception cref="YamlFormatException">The text is not valid YAML or repeats a mapping key (the parser's check); the message gives line and column.</exception>
    public static IReadOnlyList<JsonNode?> ParseDocuments(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new YamlFormatException($"line {e.Start.Line}, column {e.Start.Column}: {Innermost(e).Message}", e);
        }

        return stream.Documents
            .Where(d => d.RootNode is not YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" })
            .Select(d => ToJson(d.RootNode))
            .ToList();
    }

    /// <summary>Writes JSON trees as one multi-document YAML stream (documents separated by <c>---</c>).</summary>
    public static string ToYaml(IEnumerable<JsonNode> documents)
    {
        var text = new StringBuilder();
        foreach (var document in documents)
        {
            var stream = new YamlStream(new YamlDocument(ToYamlNode(document)));
            using var writer = new StringWriter(CultureInfo.InvariantCulture);
            stream.Save(writer, assignAnchors: false);
            var body = writer.ToString();
            // YamlStream ends every document with "...": a full stop between documents is noise.
            body = body.EndsWith("...\n", StringComparison.Ordinal) ? body[..^4] : body;
            text.Append("---\n").Append(body.TrimEnd('\n')).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Writes one JSON tree as a YAML document.</summary>
    public static string ToYaml(JsonNode document) => ToYaml([document]);

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => ToJsonObject(mapping),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => ToJsonValue(scalar),
        _ => throw new YamlFormatException($"line {node.Start.Line}: unsupported YAML node", null),
    };

    private static JsonObject ToJsonObject(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw new YamlFormatException($"line {keyNode.Start.Line}, column {keyNode.Start.Column}: mapping keys must be scalars", null);
            }

            result[key] = ToJson(valueNode);
        }

        return result;
    }

    private static JsonValue? ToJsonValue(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Plain or ScalarStyle.Any))
        {
            return JsonValue.Create(text);
        }

        if (IsNull(text))
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "y" or "Y" or "yes" or "Yes" or "YES" or "on" or "On" or "ON")
        {
            return JsonValue.Create(true);
        }

        if (text is "false" or "False" or "FALSE" or "n" or "N" or "no" or "No" or "NO" or "off" or "Off" or "OFF")
        {
            return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(text);
    }

    private static YamlNode ToYamlNode(JsonNode? node) => node switch
    {
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        JsonObject obj => new YamlMappingNode(obj.Select(p => new KeyValuePair<YamlNode, YamlNode>(StringScalar(p.Key), ToYamlNode(p.Value)))),
        JsonArray array => new YamlSequenceNode(array.Select(ToYamlNode)),
        JsonValue value => ValueScalar(value),
        _ => throw new InvalidOperationException($"Unexpected JSON node {node.GetType().Name}."),
    };

    private static YamlScalarNode ValueScalar(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.String => StringScalar(value.GetValue<string>()),
        JsonValueKind.True => new YamlScalarNode("true") { Style = ScalarStyle.Plain },
        JsonValueKind.False => new YamlScalarNode("false") { Style = ScalarStyle.Plain },
        JsonValueKind.Number => new YamlScalarNode(value.ToJsonString()) { Style = ScalarStyle.Plain },
        var kind => throw new InvalidOperationException($"Unexpected JSON value kind {kind}."),
    };

    /// <summary>A string scalar, quoted when plain style would read back as another type (<c>"3306"</c>, <c>"true"</c>).</summary>
    private static YamlScalarNode StringScalar(string text)
    {
        var ambiguous = IsNull(text) || text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE"
            || IntegerPattern().IsMatch(text) || FloatPattern().IsMatch(text)
            || YamlOneOneBoolean().IsMatch(text) || text.Contains('\n', StringComparison.Ordinal);
        return new YamlScalarNode(text) { Style = ambiguous ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };
    }

    private static bool IsNull(string text) => text is "" or "~" or "null" or "Null" or "NULL";

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;

    [GeneratedRegex(@"^[-+]?(0|[1-9][0-9]*)$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$|^0[xo][0-9a-fA-F]+$")]
    private static partial Regex FloatPattern();

    // YAML 1.1 readers (kubectl among them) take these as booleans: quote them so every reader agrees.
    [GeneratedRegex(@"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")]
    private static partial Regex YamlOneOneBoolean();
}

/// <summary>The input is not YAML this tool accepts; the message names line and column.</summary>
/// <param name="message">What is wrong and where.</param>
/// <param name="inner">The parser's exception, if any.</param>
public sealed class YamlFormatException(string message, Exception? inner) : Exception(message, inner);
