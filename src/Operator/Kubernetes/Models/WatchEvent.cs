using System.Text.Json;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>The <c>type</c> of a watch event (Kubernetes API concepts, "Efficient detection of changes").</summary>
public enum WatchEventType
{
    /// <summary><c>ADDED</c>: the object was created (or existed when the watch started from no version).</summary>
    [JsonStringEnumMemberName("ADDED")]
    Added,

    /// <summary><c>MODIFIED</c>: the object changed; the event carries its new state.</summary>
    [JsonStringEnumMemberName("MODIFIED")]
    Modified,

    /// <summary><c>DELETED</c>: the object is gone; the event carries its last state.</summary>
    [JsonStringEnumMemberName("DELETED")]
    Deleted,

    /// <summary>
    /// <c>BOOKMARK</c>: no change, only progress. The object carries nothing but
    /// <c>apiVersion</c>, <c>kind</c> and <c>metadata.resourceVersion</c>, the version to resume from.
    /// </summary>
    [JsonStringEnumMemberName("BOOKMARK")]
    Bookmark,

    /// <summary><c>ERROR</c>: the watch failed; the event carries a <see cref="V1Status"/> (410 Expired: relist).</summary>
    [JsonStringEnumMemberName("ERROR")]
    Error,
}

/// <summary>
/// One line of a watch stream: <c>{"type":"ADDED","object":{...}}</c>. For
/// <see cref="WatchEventType.Error"/> the wire <c>object</c> is a <c>Status</c>, not a
/// <typeparamref name="T"/>: it is read into <see cref="Status"/> and <see cref="Object"/> stays
/// null. <c>IKubernetesClient.WatchAsync</c> never yields ERROR events; it throws them as
/// <c>KubernetesApiException</c>s, so consumers of a client watch always get an <see cref="Object"/>.
/// </summary>
/// <typeparam name="T">Object type.</typeparam>
[JsonConverter(typeof(WatchEventJsonConverterFactory))]
public sealed class WatchEvent<T>
    where T : IKubernetesObject
{
    /// <summary>What happened.</summary>
    public required WatchEventType Type { get; init; }

    /// <summary>The object (for BOOKMARK only its resource version); null only for <see cref="WatchEventType.Error"/>.</summary>
    public T Object { get; init; } = default!;

    /// <summary>The failure, for <see cref="WatchEventType.Error"/> only.</summary>
    public V1Status? Status { get; init; }
}

/// <summary>
/// Reads and writes <see cref="WatchEvent{T}"/> in the wire shape <c>{"type":..,"object":..}</c>,
/// choosing the type of <c>object</c> by <c>type</c> (a <see cref="V1Status"/> for ERROR).
/// </summary>
public sealed class WatchEventJsonConverterFactory : JsonConverterFactory
{
    /// <inheritdoc />
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(WatchEvent<>);

    /// <inheritdoc />
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(WatchEventJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class WatchEventJsonConverter<T> : JsonConverter<WatchEvent<T>>
        where T : IKubernetesObject
    {
        public override WatchEvent<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("A watch event must be a JSON object.");
            }

            WatchEventType? type = null;
            JsonElement? deferredObject = null;
            T? obj = default;
            V1Status? status = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property)
                {
                    case "type":
                        type = ParseType(reader.GetString());
                        break;
                    case "object" when type is null:
                        // "object" before "type": keep it until the type is known.
                        deferredObject = JsonElement.ParseValue(ref reader);
                        break;
                    case "object" when type == WatchEventType.Error:
                        status = JsonSerializer.Deserialize<V1Status>(ref reader, options);
                        break;
                    case "object":
                        obj = JsonSerializer.Deserialize<T>(ref reader, options);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (type is null)
            {
                throw new JsonException("A watch event has no \"type\".");
            }

            if (deferredObject is { } element)
            {
                if (type == WatchEventType.Error)
                {
                    status = element.Deserialize<V1Status>(options);
                }
                else
                {
                    obj = element.Deserialize<T>(options);
                }
            }

            if (type != WatchEventType.Error && obj is null)
            {
                throw new JsonException($"A {type.Value.ToString().ToUpperInvariant()} watch event has no \"object\".");
            }

            return new WatchEvent<T> { Type = type.Value, Object = obj!, Status = status };
        }

        public override void Write(Utf8JsonWriter writer, WatchEvent<T> value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("type", value.Type.ToString().ToUpperInvariant());
            writer.WritePropertyName("object");
            if (value.Type == WatchEventType.Error)
            {
                JsonSerializer.Serialize(writer, value.Status ?? new V1Status(), options);
            }
            else
            {
                JsonSerializer.Serialize(writer, value.Object, options);
            }

            writer.WriteEndObject();
        }

        private static WatchEventType ParseType(string? text) => text switch
        {
            "ADDED" => WatchEventType.Added,
            "MODIFIED" => WatchEventType.Modified,
            "DELETED" => WatchEventType.Deleted,
            "BOOKMARK" => WatchEventType.Bookmark,
            "ERROR" => WatchEventType.Error,
            _ => throw new JsonException($"Unknown watch event type \"{text}\"."),
        };
    }
}
