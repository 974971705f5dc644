using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The <c>scale</c> subresource of a resource: where the desired and observed replica counts and
/// the label selector live (a CRD's <c>subresources.scale</c>; for Deployments the built-in paths).
/// Served as autoscaling/v1 <c>Scale</c> on GET, PUT and PATCH of <c>.../{name}/scale</c>.
/// </summary>
/// <param name="SpecReplicasPath">JSONPath of the desired replicas, e.g. <c>.spec.replicas</c>.</param>
/// <param name="StatusReplicasPath">JSONPath of the observed replicas, e.g. <c>.status.replicas</c>.</param>
/// <param name="LabelSelectorPath">JSONPath of the selector: a string (CRDs) or a LabelSelector object (Deployments); null for none.</param>
public sealed record ScaleSubresource(string SpecReplicasPath, string StatusReplicasPath, string? LabelSelectorPath)
{
    private static readonly string[] ScaleVerbs = ["get", "patch", "update"];

    internal static ScaleSubresource? FromCrd(JsonObject? scale) =>
        scale is null
            ? null
            : new ScaleSubresource(
                JsonUtil.Str(scale["specReplicasPath"]) ?? ".spec.replicas",
                JsonUtil.Str(scale["statusReplicasPath"]) ?? ".status.replicas",
                JsonUtil.Str(scale["labelSelectorPath"]));

    internal static JsonObject DiscoveryEntry(ResourceType t) => new()
    {
        ["name"] = $"{t.Plural}/scale",
        ["singularName"] = "",
        ["namespaced"] = t.Namespaced,
        ["group"] = "autoscaling",
        ["version"] = "v1",
        ["kind"] = "Scale",
        ["verbs"] = new JsonArray(ScaleVerbs.Select(v => (JsonNode)v).ToArray()),
    };

    /// <summary>The autoscaling/v1 Scale of <paramref name="obj"/>.</summary>
    internal JsonObject ToScale(JsonObject obj)
    {
        var meta = JsonUtil.Metadata(obj);
        var metadata = new JsonObject();
        foreach (var field in new[] { "name", "namespace", "uid", "resourceVersion", "creationTimestamp" })
        {
            if (meta[field] is { } value) metadata[field] = value.DeepClone();
        }
        var status = new JsonObject { ["replicas"] = Replicas(obj, StatusReplicasPath) };
        var selector = LabelSelectorPath is null ? null : SimpleJsonPath.First(obj, LabelSelectorPath);
        var selectorText = selector is JsonObject o ? LabelSelector.FromObject(o).ToString() : JsonUtil.Str(selector);
        if (!string.IsNullOrEmpty(selectorText)) status["selector"] = selectorText;
        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject { ["replicas"] = Replicas(obj, SpecReplicasPath) },
            ["status"] = status,
        };
    }

    /// <summary>A merge patch of the scaled object that sets its desired replicas (and a resourceVersion precondition when given).</summary>
    internal JsonObject ReplicasPatch(long replicas, string? resourceVersion)
    {
        var segments = SpecReplicasPath.TrimStart('.').Split('.');
        var patch = new JsonObject();
        var node = patch;
        foreach (var segment in segments[..^1])
        {
            var child = new JsonObject();
            node[segment] = child;
            node = child;
        }
        node[segments[^1]] = replicas;
        if (resourceVersion is not null)
        {
            patch["metadata"] = patch["metadata"] as JsonObject ?? new JsonObject();
            patch["metadata"]!["resourceVersion"] = resourceVersion;
        }
        return patch;
    }

    private static long Replicas(JsonObject obj, string path) => JsonUtil.TryGetLong(SimpleJsonPath.First(obj, path)) ?? 0;
}
