using System.Text.Json;
using System.Text.Json.Nodes;

namespace UserApiOperator.DesiredState;

/// <summary>
/// Decides whether a live object already has every field of the desired object, so that the
/// operator can skip a server-side apply that would change nothing (an idle operator sends no
/// writes). Fields the API server or other managers added are ignored; fields removed from the
/// desired state are caught by the <see cref="DesiredHash"/> annotation, which changes with them.
/// </summary>
public static class DesiredStateComparer
{
    /// <summary>
    /// True when every field of <paramref name="desired"/> is in <paramref name="actual"/> with the
    /// same value: objects match when each desired key matches, lists when they have the same length
    /// and match item by item, numbers by value, other scalars by their JSON text.
    /// </summary>
    public static bool IsSatisfiedBy(JsonNode? desired, JsonNode? actual) => (desired, actual) switch
    {
        (null, _) => true,
        (JsonObject d, JsonObject a) => d.All(p => IsSatisfiedBy(p.Value, a[p.Key])),
        (JsonArray d, JsonArray a) => d.Count == a.Count && d.Zip(a).All(p => IsSatisfiedBy(p.First, p.Second)),
        (JsonValue d, JsonValue a) => ScalarEquals(d, a),
        _ => false,
    };

    private static bool ScalarEquals(JsonValue desired, JsonValue actual)
    {
        if (desired.GetValueKind() == JsonValueKind.Number && actual.GetValueKind() == JsonValueKind.Number)
        {
            return decimal.Parse(desired.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
                == decimal.Parse(actual.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
        }

        return desired.ToJsonString() == actual.ToJsonString();
    }
}
