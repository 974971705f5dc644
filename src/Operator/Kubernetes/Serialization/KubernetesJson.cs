using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace UserApiOperator.Kubernetes.Serialization;

/// <summary>
/// JSON settings of the Kubernetes wire format: camelCase field names, unset (null) fields left
/// out, enums as their names, RFC 3339 times in UTC with second precision.
/// </summary>
public static class KubernetesJson
{
    /// <summary>Options for every object sent to or read from the API server.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serialises <paramref name="value"/> by its runtime type (so an object typed as an interface keeps all its fields) to a JSON tree.</summary>
    public static JsonNode ToNode(object value) =>
        JsonSerializer.SerializeToNode(value, value.GetType(), Options) ?? throw new InvalidOperationException("Serialised to JSON null.");

    /// <summary>Serialises <paramref name="value"/> by its runtime type to compact JSON text.</summary>
    public static string Serialize(object value) => JsonSerializer.Serialize(value, value.GetType(), Options);

    /// <summary>Reads <typeparamref name="T"/> from a JSON tree.</summary>
    /// <exception cref="JsonException">The tree does not fit the type; <see cref="JsonException.Path"/> names the field.</exception>
    public static T Deserialize<T>(JsonNode node) =>
        node.Deserialize<T>(Options) ?? throw new JsonException("Expected an object, got null.");

    /// <summary>Reads <typeparamref name="T"/> from JSON text.</summary>
    /// <exception cref="JsonException">The text does not fit the type; <see cref="JsonException.Path"/> names the field.</exception>
    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException("Expected an object, got null.");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DictionaryKeyPolicy = null,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new Rfc3339DateTimeOffsetConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
