using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>JSON merge patch, RFC 7386 (<c>application/merge-patch+json</c>).</summary>
public static class MergePatch
{
    /// <summary>Returns <paramref name="target"/> patched with <paramref name="patch"/>; the inputs are not modified.</summary>
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject) return patch?.DeepClone();
        var result = target is JsonObject t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = Apply(result[key], value);
            }
        }
        return result;
    }
}
