using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cel;

namespace UserApiOperator.Kubernetes.Crd;

/// <summary>
/// Evaluates the CEL rules of <c>x-kubernetes-validations</c> with the <c>Cel</c> package (a C#
/// implementation of the CEL specification), as kube-apiserver evaluates them with cel-go
/// (apiextensions-apiserver, <c>pkg/apiserver/schema/cel/validation.go</c>, <c>validateExpressions</c>):
/// <c>self</c> is the value the rule's schema describes, objects are maps keyed by field name,
/// integers are CEL <c>int</c>, and an absent field is what <c>has()</c> tests.
/// <para>
/// What the package covers, as checked when it was chosen: <c>has()</c>, <c>size()</c>, <c>in</c>,
/// map and list indexing, the macros <c>all</c>, <c>exists</c>, <c>exists_one</c>, <c>map</c>,
/// <c>filter</c>, the string functions <c>startsWith</c>, <c>endsWith</c>, <c>contains</c>,
/// <c>matches</c>, and <c>self</c>/<c>oldSelf</c> as variables. Not covered: Kubernetes' CEL
/// libraries (<c>lowerAscii</c>, <c>split</c>, <c>quantity()</c>, <c>url()</c>, <c>isSorted</c>, ...)
/// and optional types (<c>?.</c>, <c>orValue</c>); a rule that uses them fails to compile here
/// (<see cref="Compile"/> throws), so a test fails before such a rule ships. Transition rules
/// (<c>oldSelf</c>) are not used by this project's types.
/// </para>
/// </summary>
public static class CelRules
{
    private static readonly CelEnvironment Environment = new(null, null);
    private static readonly ConcurrentDictionary<string, CelProgramDelegate> Programs = new(StringComparer.Ordinal);
    private static readonly Lock CompileLock = new();

    /// <summary>Compiles <paramref name="rule"/> (cached by its text).</summary>
    /// <exception cref="InvalidOperationException">The rule does not parse.</exception>
    public static CelProgramDelegate Compile(string rule)
    {
        if (Programs.TryGetValue(rule, out var program))
        {
            return program;
        }

        lock (CompileLock)
        {
            try
            {
                return Programs.GetOrAdd(rule, r => Environment.Compile(r));
            }
            catch (Exception e) when (e is not InvalidOperationException)
            {
                throw new InvalidOperationException($"CEL rule does not compile: {rule}: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Evaluates <paramref name="rule"/> with <c>self</c> bound to <paramref name="self"/>: true or
    /// false, or an error text (a runtime error such as a missing key, or a result that is not a bool).
    /// </summary>
    /// <param name="rule">The CEL expression.</param>
    /// <param name="self">The JSON value the rule applies to (never null: rules do not run on absent values).</param>
    public static (bool Valid, string? Error) Evaluate(string rule, JsonNode self)
    {
        CelProgramDelegate program;
        try
        {
            program = Compile(rule);
        }
        catch (InvalidOperationException e)
        {
            return (false, $"rule compile error: {e.Message}");
        }

        try
        {
            var result = program.Invoke(new Dictionary<string, object?> { ["self"] = ToCel(self) });
            return result is bool b ? (b, null) : (false, $"rule did not evaluate to a bool, got {result}");
        }
#pragma warning disable CA1031 // A failing rule must become a field error, whatever the evaluator throws.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (false, $"{e.Message.Split('\n')[0]} evaluating rule");
        }
    }

    /// <summary>A JSON value as the CEL evaluator takes it: maps, lists, <see cref="long"/>, <see cref="double"/>, string, bool, null.</summary>
    public static object? ToCel(JsonNode? node) => node switch
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
