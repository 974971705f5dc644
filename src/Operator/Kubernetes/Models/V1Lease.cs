using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>A coordination.k8s.io/v1 Lease: the lock of leader election.</summary>
[KubernetesEntity(Group = "coordination.k8s.io", ApiVersion = "v1", Kind = "Lease", PluralName = "leases")]
public sealed class V1Lease : KubernetesObject
{
    /// <summary>Who holds the lease and until when.</summary>
    public V1LeaseSpec? Spec { get; set; }
}

/// <summary>The holder and timing of a Lease. Times are <c>metav1.MicroTime</c> (RFC 3339 with microseconds).</summary>
public sealed class V1LeaseSpec
{
    /// <summary>Identity of the current holder; empty when released.</summary>
    public string? HolderIdentity { get; set; }

    /// <summary>Seconds after <see cref="RenewTime"/> before others may take the lease.</summary>
    public int? LeaseDurationSeconds { get; set; }

    /// <summary>When the current holder acquired the lease.</summary>
    [JsonConverter(typeof(MicroTimeConverter))]
    public DateTimeOffset? AcquireTime { get; set; }

    /// <summary>When the holder last renewed the lease.</summary>
    [JsonConverter(typeof(MicroTimeConverter))]
    public DateTimeOffset? RenewTime { get; set; }

    /// <summary>How many times the lease changed hands.</summary>
    public int? LeaseTransitions { get; set; }
}

/// <summary>JSON form of <c>metav1.MicroTime</c>: RFC 3339 in UTC with six fractional digits, <c>2026-11-21T06:20:00.123456Z</c>.</summary>
public sealed class MicroTimeConverter : JsonConverter<DateTimeOffset?>
{
    /// <inheritdoc />
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } time)
        {
            writer.WriteStringValue(time.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
