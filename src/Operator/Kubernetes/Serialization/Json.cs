using System.Text.Json.Nodes;
using k8s;

namespace UserApiOperator.Kubernetes.Serialization;

/// <summary>
/// JSON trees of Kubernetes objects with KubernetesClient's wire settings (<see cref="KubernetesJson"/>:
/// camelCase, nulls left out, its IntOrString, ResourceQuantity and RFC 3339 time converters), for
/// comparing desired with live state and for the YAML the commands print.
/// </summary>
public static class Json
{
    /// <summary>Serialises <paramref name="value"/> by its runtime type to a JSON tree.</summary>
    /// <exception cref="InvalidOperationException">The value serialised to JSON null.</exception>
    public static JsonNode ToNode(object value) =>
        JsonNode.Parse(KubernetesJson.Serialize(value)) ?? throw new InvalidOperationException("Serialised to JSON null.");

    /// <summary>Reads <typeparamref name="T"/> from a JSON tree.</summary>
    /// <exception cref="System.Text.Json.JsonException">The tree does not fit the type; <see cref="System.Text.Json.JsonException.Path"/> names the field.</exception>
    public static T Deserialize<T>(JsonNode node) =>
        KubernetesJson.Deserialize<T>(node) ?? throw new System.Text.Json.JsonException("Expected an object, got null.");
}
