using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using UserApiOperator.Runtime.Client;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// The small copy a cache keeps of an object a controller owns and writes with server-side apply
/// (a decoder for <see cref="KubernetesListWatch.For{T}"/>): read straight from the object as the API
/// server sent it, without decoding the rest. It holds the identity (<c>name</c>, <c>namespace</c>,
/// <c>uid</c>, <c>resourceVersion</c>, <c>generation</c>, <c>deletionTimestamp</c>), the owner
/// references, and, in its <see cref="SlimObjectMeta"/>, the digest of what the field manager applied
/// (<see cref="AppliedConfiguration.OwnedDigest"/>): enough to tell the owner,
/// to see a deletion, and to know whether an apply would change anything. No spec, no labels, no
/// managed fields; a controller adds the status fields it reads. This is what controller-runtime's
/// metadata-only watches (<c>builder.OnlyMetadata</c>, <c>PartialObjectMetadata</c>) keep, plus the digest.
/// </summary>
public static class SlimObject
{
    /// <summary>
    /// Owner UIDs and names of the objects slim copies are made of: the children of one owner name it
    /// alike, and the cache holds each string once. Bounded as <see cref="StringSharing"/> is; sized
    /// for a few tens of thousands of owners.
    /// </summary>
    public static StringSharing Identities { get; } = new() { Capacity = 65_536, MaxLength = 253 };

    /// <summary>
    /// The slim copy of <paramref name="json"/> as a <typeparamref name="T"/>: identity, owner
    /// references and the digest of what <paramref name="fieldManager"/> applied; then
    /// <paramref name="status"/> copies whatever else the controller reads.
    /// </summary>
    /// <exception cref="JsonException">The managed fields are not FieldsV1.</exception>
    /// <exception cref="InvalidOperationException">A field read has the wrong JSON type.</exception>
    /// <exception cref="FormatException">A number or time does not parse.</exception>
    public static T Decode<T>(JsonElement json, string fieldManager, Action<JsonElement, T>? status = null)
        where T : class, IKubernetesObject<V1ObjectMeta>, new()
    {
        var entity = KubernetesObjects.ResourceOf<T>();
        var metadata = json.GetProperty("metadata");
        var slim = new T
        {
            ApiVersion = Transforms.Strings.Share(string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}"),
            Kind = Transforms.Strings.Share(entity.Kind),
            Metadata = new SlimObjectMeta
            {
                Name = Identity(String(metadata, "name")),
                NamespaceProperty = Share(String(metadata, "namespace")),
                Uid = String(metadata, "uid"),
                ResourceVersion = String(metadata, "resourceVersion"),
                Generation = Long(metadata, "generation"),
                DeletionTimestamp = Time(metadata, "deletionTimestamp"),
                OwnerReferences = OwnerReferences(metadata),
                AppliedDigest = AppliedConfiguration.OwnedDigest(json, fieldManager),
            },
        };
        if (status is not null)
        {
            status(json, slim);
        }

        return slim;
    }

    /// <summary>The digest a slim copy carries (see <see cref="Decode{T}"/>), or null when its manager applied nothing there.</summary>
    public static UInt128? AppliedDigest(IKubernetesObject<V1ObjectMeta> cached)
    {
        ArgumentNullException.ThrowIfNull(cached);
        return (cached.Metadata as SlimObjectMeta)?.AppliedDigest;
    }

    /// <summary>The member <paramref name="name"/> of an object, or null when absent or JSON null.</summary>
    public static JsonElement? Member(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>A string member, or null. Throws <see cref="InvalidOperationException"/> when it is not a string.</summary>
    public static string? String(JsonElement obj, string name) => Member(obj, name)?.GetString();

    /// <summary>An integer member, or null. Throws <see cref="InvalidOperationException"/> or <see cref="FormatException"/> when it is not an integer.</summary>
    public static long? Long(JsonElement obj, string name) => Member(obj, name)?.GetInt64();

    /// <summary>An RFC 3339 time member (Kubernetes' <c>metav1.Time</c>) as UTC, or null. Throws <see cref="FormatException"/> when it does not parse.</summary>
    public static DateTime? Time(JsonElement obj, string name) =>
        String(obj, name) is { } time ? DateTime.Parse(time, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) : null;

    /// <summary>A 32-bit integer member, or null.</summary>
    public static int? Int(JsonElement obj, string name) => Member(obj, name)?.GetInt32();

    private static string? Share(string? value) => value is null ? null : Transforms.Strings.Share(value);

    private static string? Identity(string? value) => value is null ? null : Identities.Share(value);

    /// <summary>The owner references, as an array (a list of one costs twice as much).</summary>
    private static V1OwnerReference[]? OwnerReferences(JsonElement metadata)
    {
        if (Member(metadata, "ownerReferences") is not { } references)
        {
            return null;
        }

        var result = new V1OwnerReference[references.GetArrayLength()];
        var i = 0;
        foreach (var reference in references.EnumerateArray())
        {
            result[i++] = new V1OwnerReference
            {
                ApiVersion = Share(String(reference, "apiVersion")),
                Kind = Share(String(reference, "kind")),
                Name = Identity(String(reference, "name")),
                Uid = Identity(String(reference, "uid")),
                Controller = Member(reference, "controller")?.GetBoolean(),
                BlockOwnerDeletion = Member(reference, "blockOwnerDeletion")?.GetBoolean(),
            };
        }

        return result;
    }
}

/// <summary>
/// The metadata of a <see cref="SlimObject"/>: the fields it keeps, plus the digest of the applied
/// configuration, which a dictionary of annotations would hold at several times the cost.
/// </summary>
public sealed record SlimObjectMeta : V1ObjectMeta
{
    /// <summary>See <see cref="AppliedConfiguration.OwnedDigest"/>; null when the field manager applied nothing to the object.</summary>
    public UInt128? AppliedDigest { get; init; }
}
