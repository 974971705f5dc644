using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UserApiOperator.Kubernetes.Serialization;

/// <summary>
/// Writes times as Kubernetes does (<c>metav1.Time</c>): RFC 3339 in UTC with second precision,
/// <c>2026-11-21T06:20:00Z</c>; reads any RFC 3339 / ISO 8601 time.
/// </summary>
public sealed class Rfc3339DateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    /// <summary>The written format.</summary>
    public const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'";

    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString() ?? throw new JsonException("expected a time"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));

    /// <summary>Truncates a time to whole seconds, the precision Kubernetes stores.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
