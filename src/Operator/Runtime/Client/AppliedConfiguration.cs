using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace UserApiOperator.Runtime.Client;

/// <summary>
/// Digests of a server-side applied configuration, so that a reconcile can tell whether an apply
/// would change anything without keeping the live object. The API server records, per field
/// manager, the fields each manager applied (<c>metadata.managedFields</c>, operation <c>Apply</c>,
/// in the <c>FieldsV1</c> format); the live values at those fields are what that manager applied,
/// unless another manager changed or removed one, which moves or drops its ownership. Extracting them
/// is client-go's <c>Extract&lt;Kind&gt;</c> (<c>applyconfigurations/apps/v1/deployment.go</c>,
/// <c>ExtractDeployment</c>, over <c>k8s.io/apimachinery/pkg/util/managedfields/extract.go</c>,
/// <c>ExtractInto</c>): the owned leaves of the object, list items found by their keys. Comparing the
/// digest of that extraction with the digest of the configuration about to be applied answers "would
/// this apply change the object", and a hand edit of any applied field shows as a difference.
/// </summary>
/// <remarks>
/// Both digests hash one canonical JSON form: object members sorted by name, members whose value is
/// null or an empty object or list left out (a server may drop or keep them), numbers by value;
/// list items in their order. On the desired side, what the server does not record as owned fields
/// is left out: <c>apiVersion</c>, <c>kind</c>, <c>status</c>, and every field of <c>metadata</c>
/// but <c>labels</c>, <c>annotations</c>, <c>ownerReferences</c> and <c>finalizers</c>.
/// </remarks>
public static class AppliedConfiguration
{
    private static readonly string[] OwnableMetadata = ["labels", "annotations", "ownerReferences", "finalizers"];

    /// <summary>
    /// The digest of the fields <paramref name="fieldManager"/> owns in <paramref name="live"/> through
    /// server-side apply (its <c>managedFields</c> entry with operation <c>Apply</c> and no subresource),
    /// with their live values; null when it owns none there.
    /// </summary>
    /// <param name="live">An object as the API server sent it, <c>managedFields</c> included.</param>
    /// <param name="fieldManager">The field manager, e.g. <c>userapi-operator</c>.</param>
    /// <exception cref="JsonException">The managed fields are not in the FieldsV1 format.</exception>
    public static UInt128? OwnedDigest(JsonElement live, string fieldManager)
    {
        ArgumentNullException.ThrowIfNull(fieldManager);
        if (FindFields(live, fieldManager) is not { } fields)
        {
            return null;
        }

        return Digest(Project(fields, live));
    }

    /// <summary>
    /// The digest of <paramref name="desired"/> (an object about to be applied, as JSON) as the API
    /// server will record it: equal to <see cref="OwnedDigest"/> of the stored object when the apply
    /// changed nothing the server keeps.
    /// </summary>
    public static UInt128 DesiredDigest(JsonNode desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var copy = desired.DeepClone().AsObject();
        copy.Remove("apiVersion");
        copy.Remove("kind");
        copy.Remove("status");
        if (copy["metadata"] is JsonObject metadata)
        {
            foreach (var field in metadata.Select(p => p.Key).Where(k => !OwnableMetadata.Contains(k, StringComparer.Ordinal)).ToList())
            {
                metadata.Remove(field);
            }
        }

        return Digest(copy);
    }

    /// <summary>The <c>fieldsV1</c> of the manager's Apply entry without subresource (client-go's <c>findManagedFields</c>), or null.</summary>
    private static JsonElement? FindFields(JsonElement live, string fieldManager)
    {
        if (live.ValueKind != JsonValueKind.Object
            || !live.TryGetProperty("metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object
            || !metadata.TryGetProperty("managedFields", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object
                && Text(entry, "manager") == fieldManager
                && Text(entry, "operation") == "Apply"
                && string.IsNullOrEmpty(Text(entry, "subresource"))
                && entry.TryGetProperty("fieldsV1", out var fields) && fields.ValueKind == JsonValueKind.Object)
            {
                return fields;
            }
        }

        return null;
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// The part of <paramref name="live"/> that <paramref name="fields"/> (a FieldsV1 node) names: at a
    /// node without children the whole value; under <c>f:&lt;name&gt;</c> the member of that name; under
    /// <c>k:&lt;keys&gt;</c>, <c>v:&lt;value&gt;</c> and <c>i:&lt;index&gt;</c> the list items with those
    /// key fields, that value, or that index, in the live list's order. A field owned but no longer
    /// in the object is left out, so its loss shows in the digest.
    /// </summary>
    private static JsonNode? Project(JsonElement fields, JsonElement live)
    {
        var children = fields.EnumerateObject().Where(p => p.Name != ".").ToList();
        if (children.Count == 0 || live.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
        {
            return Node(live);
        }

        if (live.ValueKind == JsonValueKind.Object)
        {
            var result = new JsonObject();
            foreach (var child in children)
            {
                if (child.Name.StartsWith("f:", StringComparison.Ordinal)
                    && live.TryGetProperty(child.Name[2..], out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    result[child.Name[2..]] = Project(child.Value, value);
                }
            }

            return result;
        }

        var items = new JsonArray();
        var selectors = children.Select(c => (Selector: Selector(c.Name), Fields: c.Value)).ToList();
        var index = 0;
        foreach (var item in live.EnumerateArray())
        {
            foreach (var (selector, itemFields) in selectors)
            {
                if (selector(item, index))
                {
                    items.Add(Project(itemFields, item));
                    break;
                }
            }

            index++;
        }

        return items;
    }

    /// <summary>Which list item a FieldsV1 path element names: <c>k:{"name":"api"}</c> (the item whose key fields have those values), <c>v:"x"</c> (a set's value), <c>i:3</c> (a position).</summary>
    private static Func<JsonElement, int, bool> Selector(string element)
    {
        if (element.StartsWith("k:", StringComparison.Ordinal))
        {
            using var keys = JsonDocument.Parse(element[2..]);
            var wanted = keys.RootElement.EnumerateObject().Select(p => (p.Name, Value: p.Value.Clone())).ToList();
            return (item, _) => item.ValueKind == JsonValueKind.Object
                && wanted.All(k => item.TryGetProperty(k.Name, out var v) && JsonElement.DeepEquals(v, k.Value));
        }

        if (element.StartsWith("v:", StringComparison.Ordinal))
        {
            using var value = JsonDocument.Parse(element[2..]);
            var wanted = value.RootElement.Clone();
            return (item, _) => JsonElement.DeepEquals(item, wanted);
        }

        if (element.StartsWith("i:", StringComparison.Ordinal) && int.TryParse(element[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            return (_, i) => i == position;
        }

        return static (_, _) => false; // "f:" under a list, or an element this format does not define: names no item.
    }

    private static JsonNode? Node(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => JsonObject.Create(value),
        JsonValueKind.Array => JsonArray.Create(value),
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => JsonValue.Create(value),
    };

    /// <summary>The first 128 bits of the SHA-256 of the canonical form (16 bytes inline, where a hexadecimal string would cost 86).</summary>
    private static UInt128 Digest(JsonNode? node)
    {
        var canonical = Canonical(node)?.ToJsonString() ?? "null";
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>Sorted members, no null or empty members, numbers by value; null for a value that canonicalises to nothing.</summary>
    private static JsonNode? Canonical(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var result = new JsonObject();
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (Canonical(value) is { } canonical && !IsEmpty(canonical))
                    {
                        result[name] = canonical;
                    }
                }

                return result;
            case JsonArray array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Canonical(item));
                }

                return items;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number:
                var text = value.ToJsonString();
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                    ? JsonValue.Create(integer)
                    : decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                        ? JsonValue.Create(number / 1.000000000000000000000000000000000m) // Drops trailing zeros: 1.50 and 1.5 are one number.
                        : JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
            case JsonValue value when value.GetValueKind() == JsonValueKind.Null:
                return null;
            default:
                return node.DeepClone();
        }
    }

    private static bool IsEmpty(JsonNode node) => node is JsonObject { Count: 0 } or JsonArray { Count: 0 };
}
