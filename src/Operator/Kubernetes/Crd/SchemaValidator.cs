using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// Checks a JSON tree against a structural OpenAPI v3 schema the way the API server validates a
/// custom resource: <c>type</c>, <c>properties</c> (unknown fields rejected, as with
/// <c>kubectl --validate=strict</c>), <c>additionalProperties</c>, <c>required</c>, <c>minimum</c>,
/// <c>maximum</c>, <c>minLength</c>, <c>maxLength</c>, <c>pattern</c>, <c>enum</c>, <c>items</c> and
/// <c>x-kubernetes-int-or-string</c>, and the CEL rules of <c>x-kubernetes-validations</c> (<see cref="CelRules"/>)
/// on every present value whose type is right, with the API server's message (the rule's <c>message</c>, else
/// <c>failed rule: RULE</c>) at the rule's <c>fieldPath</c>. A JSON null counts as an absent field.
/// </summary>
public static class SchemaValidator
{
    /// <summary>Every violation in <paramref name="value"/>, in document order; empty when valid.</summary>
    /// <param name="value">The tree to check.</param>
    /// <param name="schema">The schema, as <see cref="SchemaGenerator"/> makes it.</param>
    /// <param name="path">Path of <paramref name="value"/> within its object, used as the prefix of field paths.</param>
    public static IReadOnlyList<FieldError> Validate(JsonNode? value, JsonObject schema, string path)
    {
        var errors = new List<FieldError>();
        Check(value, schema, path, errors);
        return errors;
    }

    private static void Check(JsonNode? value, JsonObject schema, string path, List<FieldError> errors)
    {
        if (value is null)
        {
            return;
        }

        if (schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true)
        {
            if (!IsInteger(value) && !IsKind(value, JsonValueKind.String))
            {
                errors.Add(new(path, $"must be an integer or a string, got {Describe(value)}"));
                return;
            }

            CheckString(value, schema, path, errors);
            return;
        }

        var before = errors.Count;
        CheckTyped(value, schema, path, errors);
        if (schema["x-kubernetes-validations"] is JsonArray rules && !(errors.Count > before && errors[before].Field == path))
        {
            CheckRules(value, rules, path, errors);
        }
    }

    /// <summary>
    /// The CEL rules on one value, as apiextensions-apiserver's <c>validateExpressions</c>
    /// (pkg/apiserver/schema/cel/validation.go) reports them: a false rule gives its message (or
    /// <c>failed rule: RULE</c>) at the value's path plus the rule's <c>fieldPath</c>; a rule that
    /// cannot be evaluated gives the evaluation error.
    /// </summary>
    private static void CheckRules(JsonNode value, JsonArray rules, string path, List<FieldError> errors)
    {
        foreach (var rule in rules.OfType<JsonObject>())
        {
            var text = rule["rule"]?.GetValue<string>() ?? "";
            var (valid, error) = CelRules.Evaluate(text, value);
            if (valid)
            {
                continue;
            }

            var message = rule["message"]?.GetValue<string>()?.Trim() is { Length: > 0 } m ? m : null;
            var fieldPath = rule["fieldPath"]?.GetValue<string>() is { Length: > 0 } f ? path + f : path;
            errors.Add(new(fieldPath, error is not null ? $"{error}: {message ?? text.Trim()}" : message ?? $"failed rule: {text.Trim()}"));
        }
    }

    private static void CheckTyped(JsonNode value, JsonObject schema, string path, List<FieldError> errors)
    {
        switch (schema["type"]?.GetValue<string>())
        {
            case "object":
                CheckObject(value, schema, path, errors);
                break;
            case "array":
                if (value is not JsonArray array)
                {
                    errors.Add(new(path, $"must be a list, got {Describe(value)}"));
                    return;
                }

                if (schema["items"] is JsonObject items)
                {
                    for (var i = 0; i < array.Count; i++)
                    {
                        Check(array[i], items, $"{path}[{i}]", errors);
                    }
                }

                break;
            case "string":
                if (!IsKind(value, JsonValueKind.String))
                {
                    errors.Add(new(path, $"must be a string, got {Describe(value)}"));
                    return;
                }

                CheckString(value, schema, path, errors);
                break;
            case "integer":
                if (!IsInteger(value))
                {
                    errors.Add(new(path, $"must be an integer, got {Describe(value)}"));
                    return;
                }

                CheckRange(NumberOf(value), schema, path, errors);
                break;
            case "boolean":
                if (!IsKind(value, JsonValueKind.True) && !IsKind(value, JsonValueKind.False))
                {
                    errors.Add(new(path, $"must be true or false, got {Describe(value)}"));
                }

                break;
        }
    }

    private static void CheckObject(JsonNode value, JsonObject schema, string path, List<FieldError> errors)
    {
        if (value is not JsonObject obj)
        {
            errors.Add(new(path, $"must be an object, got {Describe(value)}"));
            return;
        }

        if (schema["required"] is JsonArray required)
        {
            foreach (var name in required.Select(r => r!.GetValue<string>()))
            {
                if (obj[name] is null)
                {
                    errors.Add(new(Join(path, name), "is required"));
                }
            }
        }

        var properties = schema["properties"] as JsonObject;
        var additional = schema["additionalProperties"] as JsonObject;
        foreach (var (name, child) in obj)
        {
            if (properties?[name] is JsonObject propertySchema)
            {
                Check(child, propertySchema, Join(path, name), errors);
            }
            else if (additional is not null)
            {
                Check(child, additional, $"{path}[{name}]", errors);
            }
            else if (properties is not null)
            {
                var known = string.Join(", ", properties.Select(p => p.Key));
                errors.Add(new(Join(path, name), $"unknown field (known fields: {known})"));
            }
        }
    }

    private static void CheckString(JsonNode value, JsonObject schema, string path, List<FieldError> errors)
    {
        if (!IsKind(value, JsonValueKind.String))
        {
            return;
        }

        var text = value.GetValue<string>();
        if (schema["minLength"] is { } minLength && text.Length < minLength.GetValue<int>())
        {
            errors.Add(new(path, minLength.GetValue<int>() == 1 ? "must not be empty" : $"must be at least {minLength} characters long"));
        }

        if (schema["maxLength"] is { } maxLength && text.Length > maxLength.GetValue<int>())
        {
            errors.Add(new(path, $"must be at most {maxLength} characters long, got {text.Length}"));
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => a?.GetValue<string>() == text))
        {
            errors.Add(new(path, $"must be one of {string.Join(", ", allowed.Select(a => a!.GetValue<string>()))}, got \"{text}\""));
        }

        if (schema["pattern"] is { } pattern && !Regex.IsMatch(text, pattern.GetValue<string>(), RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            errors.Add(new(path, pattern.GetValue<string>() == SchemaGenerator.ResourceQuantityPattern
                ? $"\"{text}\" is not a resource quantity (for example 500m, 1, 64Mi, 1Gi)"
                : $"\"{text}\" does not match the pattern {pattern}"));
        }
    }

    private static void CheckRange(decimal number, JsonObject schema, string path, List<FieldError> errors)
    {
        if (schema["minimum"] is { } minimum && number < minimum.GetValue<long>())
        {
            errors.Add(new(path, $"must be at least {minimum}, got {number.ToString(CultureInfo.InvariantCulture)}"));
        }

        if (schema["maximum"] is { } maximum && number > maximum.GetValue<long>())
        {
            errors.Add(new(path, $"must be at most {maximum}, got {number.ToString(CultureInfo.InvariantCulture)}"));
        }
    }

    private static bool IsKind(JsonNode value, JsonValueKind kind) => value is JsonValue && value.GetValueKind() == kind;

    private static bool IsInteger(JsonNode value) =>
        IsKind(value, JsonValueKind.Number) && decimal.Truncate(NumberOf(value)) == NumberOf(value);

    private static decimal NumberOf(JsonNode value) =>
        decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : decimal.MaxValue;

    private static string Describe(JsonNode value) => value switch
    {
        JsonObject => "an object",
        JsonArray => "a list",
        _ => value.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{value.GetValue<string>()}\"",
            JsonValueKind.True or JsonValueKind.False => value.ToJsonString(),
            _ => value.ToJsonString(),
        },
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
