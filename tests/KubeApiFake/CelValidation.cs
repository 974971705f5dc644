using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cel;

namespace KubeApiFake;

/// <summary>
/// The CEL rules of a CRD schema's <c>x-kubernetes-validations</c>, evaluated on create and update
/// as kube-apiserver does (k8s.io/apiextensions-apiserver, pkg/apiserver/schema/cel/validation.go,
/// <c>validateExpressions</c>; the error kinds of <c>fieldErrorForReason</c>): each rule runs on every
/// present value of its schema (never on an absent or null one) with <c>self</c> bound to it; a false
/// rule gives a cause at the value's path plus the rule's <c>fieldPath</c>, of the rule's
/// <c>reason</c> (default <c>FieldValueInvalid</c>), with the rule's <c>message</c> or
/// <c>failed rule: RULE</c>; an evaluation error gives <c>ERROR evaluating rule: RULE</c>.
/// Invalid causes read <c>Invalid value: "object": MESSAGE</c> (the value is the schema type, as
/// the real server writes <c>sts.Type</c>). Evaluation uses the <c>Cel</c> package (core CEL:
/// has, size, in, all, exists, string functions); no cost budget is enforced.
/// </summary>
internal static class CelValidation
{
    private static readonly CelEnvironment Environment = new(null, null);
    private static readonly ConcurrentDictionary<string, object> Programs = new(StringComparer.Ordinal);
    private static readonly Lock CompileLock = new();

    public static void Check(JsonNode node, JsonArray rules, string path, string type, List<FieldCause> causes)
    {
        foreach (var rule in rules.OfType<JsonObject>())
        {
            var text = (JsonUtil.Str(rule["rule"]) ?? "").Trim();
            var message = JsonUtil.Str(rule["message"])?.Trim() is { Length: > 0 } m ? m : null;
            var errorString = message ?? text;
            var fieldPath = JsonUtil.Str(rule["fieldPath"]) is { Length: > 0 } f ? path + f : path;
            string? evalError = null;
            bool ok;
            try
            {
                ok = Evaluate(text, node) is true;
            }
            catch (Exception e)
            {
                ok = false;
                evalError = $"{e.Message.Split('\n')[0]} evaluating rule: {errorString}";
            }

            if (ok) continue;
            if (evalError is not null)
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: \"{type}\": {evalError}", path));
                continue;
            }

            var detail = message ?? $"failed rule: {text}";
            causes.Add(JsonUtil.Str(rule["reason"]) switch
            {
                "FieldValueForbidden" => new FieldCause("FieldValueForbidden", $"Forbidden: {detail}", fieldPath),
                "FieldValueRequired" => new FieldCause("FieldValueRequired", $"Required value: {detail}", fieldPath),
                "FieldValueDuplicate" => new FieldCause("FieldValueDuplicate", $"Duplicate value: \"{type}\"", fieldPath),
                _ => new FieldCause("FieldValueInvalid", $"Invalid value: \"{type}\": {detail}", fieldPath),
            });
        }
    }

    private static object? Evaluate(string rule, JsonNode self)
    {
        if (!Programs.TryGetValue(rule, out var program))
        {
            lock (CompileLock)
            {
                program = Programs.GetOrAdd(rule, r => Environment.Compile(r));
            }
        }

        return ((CelProgramDelegate)program).Invoke(new Dictionary<string, object?> { ["self"] = ToCel(self) });
    }

    private static object? ToCel(JsonNode? node) => node switch
    {
        null => null,
        // A null field is an absent one (has() is false), as for the API server, which drops nulls of non-nullable fields.
        JsonObject obj => obj.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => ToCel(p.Value), StringComparer.Ordinal),
        JsonArray array => array.Select(ToCel).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => long.TryParse(value.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                ? l
                : double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
            _ => null,
        },
        _ => null,
    };
}
