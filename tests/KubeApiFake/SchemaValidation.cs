using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KubeApiFake;

/// <summary>
/// Validates a custom resource against its CRD's OpenAPI v3 schema: <c>type</c>, <c>nullable</c>,
/// <c>x-kubernetes-int-or-string</c>, <c>enum</c>, <c>minimum</c>/<c>maximum</c> (and exclusive forms),
/// <c>minLength</c>/<c>maxLength</c>, <c>pattern</c>, <c>minItems</c>/<c>maxItems</c>, <c>required</c>,
/// <c>minProperties</c>/<c>maxProperties</c>, and the CEL rules of <c>x-kubernetes-validations</c>
/// (<see cref="CelValidation"/>), with the real server's messages. <c>format</c> and
/// <c>oneOf</c>/<c>anyOf</c>/<c>allOf</c>/<c>not</c> are not checked.
/// </summary>
internal static class SchemaValidation
{
    /// <summary>The node at a cause's field path (<c>spec.items[0].name</c>), or null when absent.</summary>
    public static JsonNode? At(JsonObject obj, string field)
    {
        JsonNode? node = obj;
        foreach (var part in Regex.Split(field, @"\.|(?=\[)"))
        {
            if (part.Length == 0) continue;
            if (part.StartsWith('[') && int.TryParse(part.Trim('[', ']'), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                node = node is JsonArray array && index < array.Count ? array[index] : null;
            }
            else
            {
                node = node is JsonObject o ? o[part.Trim('[', ']')] : null;
            }
            if (node is null) return null;
        }
        return node;
    }

    public static List<FieldCause> Validate(JsonObject obj, JsonObject schema)
    {
        var causes = new List<FieldCause>();
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (key, child) in obj)
            {
                if (key is "apiVersion" or "kind" or "metadata") continue;
                if (properties[key] is JsonObject cs) ValidateNode(child, cs, key, causes);
            }
            Required(obj, schema, "", causes, root: true);
        }
        return causes;
    }

    private static void Required(JsonObject obj, JsonObject schema, string path, List<FieldCause> causes, bool root = false)
    {
        if (schema["required"] is not JsonArray required) return;
        foreach (var r in required)
        {
            var name = JsonUtil.Str(r);
            if (name is null || (root && name is "apiVersion" or "kind" or "metadata")) continue;
            if (!obj.ContainsKey(name)) causes.Add(new FieldCause("FieldValueRequired", "Required value", Join(path, name)));
        }
    }

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

    private static string TypeOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => JsonUtil.TryGetNumber(v, out var d) && decimal.Truncate(d) == d ? "integer" : "number",
            _ => "null",
        },
        _ => "null",
    };

    private static void ValidateNode(JsonNode? node, JsonObject schema, string path, List<FieldCause> causes)
    {
        var actual = TypeOf(node);
        if (node is null)
        {
            if (!JsonUtil.IsTrue(schema["nullable"]) && JsonUtil.Str(schema["type"]) is { } t)
            {
                causes.Add(new FieldCause("FieldValueTypeInvalid", $"Invalid value: \"null\": {path} in body must be of type {t}: \"null\"", path));
            }
            return;
        }
        if (JsonUtil.IsTrue(schema["x-kubernetes-int-or-string"]))
        {
            if (actual is not ("integer" or "string"))
            {
                causes.Add(new FieldCause("FieldValueTypeInvalid",
                    $"Invalid value: \"{actual}\": {path} in body must be of type integer,string: \"{actual}\"", path));
                return;
            }
        }
        else if (JsonUtil.Str(schema["type"]) is { } type)
        {
            var ok = type == actual || (type == "number" && actual == "integer");
            if (!ok)
            {
                causes.Add(new FieldCause("FieldValueTypeInvalid",
                    $"Invalid value: \"{actual}\": {path} in body must be of type {type}: \"{actual}\"", path));
                return;
            }
        }

        if (schema["x-kubernetes-validations"] is JsonArray rules)
        {
            CelValidation.Check(node, rules, path, actual, causes);
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonUtil.DeepEquals(a, node)))
        {
            var list = string.Join(", ", allowed.Select(JsonUtil.Render));
            causes.Add(new FieldCause("FieldValueNotSupported", $"Unsupported value: {JsonUtil.Render(node)}: supported values: {list}", path));
        }

        if (JsonUtil.TryGetNumber(node, out var number))
        {
            if (JsonUtil.TryGetNumber(schema["maximum"], out var max))
            {
                var exclusive = JsonUtil.IsTrue(schema["exclusiveMaximum"]);
                if (exclusive ? number >= max : number > max)
                {
                    causes.Add(new FieldCause("FieldValueInvalid",
                        $"Invalid value: {JsonUtil.Render(node)}: {path} in body should be less than {(exclusive ? "" : "or equal to ")}{Num(max)}", path));
                }
            }
            if (JsonUtil.TryGetNumber(schema["minimum"], out var min))
            {
                var exclusive = JsonUtil.IsTrue(schema["exclusiveMinimum"]);
                if (exclusive ? number <= min : number < min)
                {
                    causes.Add(new FieldCause("FieldValueInvalid",
                        $"Invalid value: {JsonUtil.Render(node)}: {path} in body should be greater than {(exclusive ? "" : "or equal to ")}{Num(min)}", path));
                }
            }
        }

        if (JsonUtil.Str(node) is { } text)
        {
            var length = text.EnumerateRunes().Count();
            if (JsonUtil.TryGetLong(schema["maxLength"]) is { } maxLength && length > maxLength)
            {
                causes.Add(new FieldCause("FieldValueTooLong", $"Too long: may not be more than {maxLength} bytes", path));
            }
            if (JsonUtil.TryGetLong(schema["minLength"]) is { } minLength && length < minLength)
            {
                causes.Add(new FieldCause("FieldValueInvalid",
                    $"Invalid value: {JsonUtil.Render(node)}: {path} in body should be at least {minLength} chars long", path));
            }
            if (JsonUtil.Str(schema["pattern"]) is { } pattern && !Matches(text, pattern))
            {
                causes.Add(new FieldCause("FieldValueInvalid",
                    $"Invalid value: {JsonUtil.Render(node)}: {path} in body should match '{pattern}'", path));
            }
        }

        switch (node)
        {
            case JsonArray array:
                if (JsonUtil.TryGetLong(schema["maxItems"]) is { } maxItems && array.Count > maxItems)
                {
                    causes.Add(new FieldCause("FieldValueTooMany", $"Too many: {array.Count}: must have at most {maxItems} items", path));
                }
                if (JsonUtil.TryGetLong(schema["minItems"]) is { } minItems && array.Count < minItems)
                {
                    causes.Add(new FieldCause("FieldValueInvalid",
                        $"Invalid value: {array.Count}: {path} in body should have at least {minItems} items", path));
                }
                if (schema["items"] is JsonObject items)
                {
                    for (var i = 0; i < array.Count; i++) ValidateNode(array[i], items, $"{path}[{i}]", causes);
                }
                break;
            case JsonObject obj:
                if (JsonUtil.TryGetLong(schema["maxProperties"]) is { } maxProps && obj.Count > maxProps)
                {
                    causes.Add(new FieldCause("FieldValueTooMany", $"Too many: {obj.Count}: must have at most {maxProps} items", path));
                }
                if (JsonUtil.TryGetLong(schema["minProperties"]) is { } minProps && obj.Count < minProps)
                {
                    causes.Add(new FieldCause("FieldValueInvalid",
                        $"Invalid value: {obj.Count}: {path} in body should have at least {minProps} properties", path));
                }
                var properties = schema["properties"] as JsonObject;
                foreach (var (key, child) in obj)
                {
                    if (properties?[key] is JsonObject cs) ValidateNode(child, cs, $"{path}.{key}", causes);
                    else if (schema["additionalProperties"] is JsonObject aps) ValidateNode(child, aps, $"{path}.{key}", causes);
                }
                Required(obj, schema, path, causes);
                break;
        }
    }

    private static string Num(decimal d) => d.ToString(CultureInfo.InvariantCulture);

    private static bool Matches(string text, string pattern)
    {
        try
        {
            return Regex.IsMatch(text, pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
