using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// Kubernetes <c>IntOrString</c>: a value that is either an integer (a port number, a count) or a
/// string (a port name, a percentage). Serialised as a JSON number or string accordingly.
/// </summary>
[JsonConverter(typeof(IntOrStringConverter))]
public readonly record struct IntOrString
{
    private IntOrString(int? number, string? text) => (Number, Text) = (number, text);

    /// <summary>The integer form, or null when this is a string.</summary>
    public int? Number { get; }

    /// <summary>The string form, or null when this is an integer.</summary>
    public string? Text { get; }

    /// <summary>An integer value.</summary>
    public static IntOrString FromInt(int value) => new(value, null);

    /// <summary>A string value (a named port, or a percentage such as <c>25%</c>).</summary>
    public static IntOrString FromString(string value) => new(null, value);

    /// <summary>Integer conversion.</summary>
    public static implicit operator IntOrString(int value) => FromInt(value);

    /// <summary>String conversion.</summary>
    public static implicit operator IntOrString(string value) => FromString(value);

    /// <inheritdoc />
    public override string ToString() => Text ?? Number?.ToString(CultureInfo.InvariantCulture) ?? "";
}

/// <summary>JSON converter for <see cref="IntOrString"/>: numbers stay numbers, strings stay strings.</summary>
public sealed class IntOrStringConverter : JsonConverter<IntOrString>
{
    /// <inheritdoc />
    public override IntOrString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number => IntOrString.FromInt(reader.GetInt32()),
            JsonTokenType.String => IntOrString.FromString(reader.GetString()!),
            _ => throw new JsonException("expected an integer or a string"),
        };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, IntOrString value, JsonSerializerOptions options)
    {
        if (value.Number is { } number)
        {
            writer.WriteNumberValue(number);
        }
        else
        {
            writer.WriteStringValue(value.Text);
        }
    }
}
