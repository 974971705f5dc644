using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// A Kubernetes resource quantity such as <c>50m</c> (CPU millicores) or <c>64Mi</c> (bytes, binary
/// suffix), kept in its canonical text form. Reads a JSON number (<c>cpu: 1</c>) or string; always
/// writes a string, as the API server does.
/// </summary>
[JsonConverter(typeof(ResourceQuantityConverter))]
public readonly record struct ResourceQuantity(string Value)
{
    /// <summary>Regular expression of a valid quantity (the pattern the API server's schema uses).</summary>
    public const string Pattern = @"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

    /// <summary>Text conversion.</summary>
    public static implicit operator ResourceQuantity(string value) => new(value);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>JSON converter for <see cref="ResourceQuantity"/>.</summary>
public sealed class ResourceQuantityConverter : JsonConverter<ResourceQuantity>
{
    /// <inheritdoc />
    public override ResourceQuantity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => new ResourceQuantity(reader.GetString()!),
            JsonTokenType.Number => new ResourceQuantity(reader.GetDecimal().ToString(CultureInfo.InvariantCulture)),
            _ => throw new JsonException("expected a quantity such as 500m or 64Mi"),
        };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ResourceQuantity value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Value);
}
