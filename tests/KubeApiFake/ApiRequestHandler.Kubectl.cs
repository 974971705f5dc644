using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>What kubectl needs beyond plain storage: <c>Table</c> responses and the <c>scale</c> subresource.</summary>
internal sealed partial class ApiRequestHandler
{
    /// <summary>
    /// Converts a GET answer into a meta.k8s.io <c>Table</c> when the client asked for one in
    /// <c>Accept</c> (kubectl get: <c>application/json;as=Table;v=v1;g=meta.k8s.io,...</c>).
    /// </summary>
    private JsonNode AsTableIfAsked(HttpContext ctx, ApiRoute route, string method, int code, JsonNode response)
    {
        if (code != 200 || method != "GET" || route.Kind != RouteKind.Resource || route.Subresource is not null) return response;
        if (Tables.RequestedVersion(ctx.Request.Headers.Accept.ToString()) is not { } version) return response;
        if (store.Resolve(route.Group, route.Version, route.Resource!) is not { } rt || response is not JsonObject obj) return response;
        var includeObject = ctx.Request.Query["includeObject"].ToString() is { Length: > 0 } io ? io : "Metadata";
        return Tables.Convert(rt, obj, version, includeObject, server.Options.TimeProvider.GetUtcNow());
    }

    /// <summary>
    /// For a watch that asked for Tables (<c>kubectl get -w</c>): turns each event's object into a
    /// one-row Table, as the real server's watch encoder does; BOOKMARK and ERROR events pass
    /// unchanged. Null when no Table was asked for.
    /// </summary>
    private Func<byte[], byte[]>? WatchTableConverter(HttpContext ctx, ResourceType rt)
    {
        if (Tables.RequestedVersion(ctx.Request.Headers.Accept.ToString()) is not { } version) return null;
        var includeObject = ctx.Request.Query["includeObject"].ToString() is { Length: > 0 } io ? io : "Metadata";
        return line =>
        {
            if (JsonNode.Parse(line) is not JsonObject watchEvent || watchEvent["object"] is not JsonObject obj
                || JsonUtil.Str(watchEvent["type"]) is "BOOKMARK" or "ERROR")
            {
                return line;
            }
            watchEvent["object"] = Tables.Convert(rt, obj, version, includeObject, server.Options.TimeProvider.GetUtcNow());
            return [.. JsonUtil.ToUtf8(watchEvent), (byte)'\n'];
        };
    }

    /// <summary>GET, PUT and PATCH of <c>.../{name}/scale</c>: an autoscaling/v1 Scale over the object's replica paths.</summary>
    private (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) DispatchScale(
        HttpContext ctx, ResourceType rt, ScaleSubresource scale, ApiRoute route, string method, string? body)
    {
        var ns = rt.Namespaced ? route.Namespace : null;
        var name = route.Name!;
        var current = scale.ToScale(store.GetForApi(rt, ns, name));
        JsonObject desired;
        switch (method)
        {
            case "GET":
                return (200, current, null);
            case "PUT":
                desired = ParseObject(ctx, body);
                break;
            case "PATCH":
                desired = PatchScale(current, MediaType(ctx) ?? "", body);
                break;
            default:
                throw StatusResponses.MethodNotAllowed();
        }

        // Scale.spec.replicas is an int32 with omitempty: absent means 0.
        var replicas = JsonUtil.TryGetLong(desired["spec"]?["replicas"]) ?? 0;
        if (replicas < 0)
        {
            var scaleType = new ResourceType("autoscaling", "v1", "scale", "Scale", rt.Namespaced);
            throw StatusResponses.Invalid(scaleType, name,
                [new FieldCause("FieldValueInvalid", $"Invalid value: {replicas}: must be greater than or equal to 0", "spec.replicas")]);
        }
        // A resourceVersion in the Scale is a precondition on the scaled object (as on a real server).
        var rv = JsonUtil.MetaString(desired, "resourceVersion");
        if (method == "PATCH" && rv == JsonUtil.MetaString(current, "resourceVersion")) rv = null;
        var o = WriteOptionsFor(ctx);
        var (_, updated) = store.Patch(rt, ns, name, "application/merge-patch+json", scale.ReplicasPatch(replicas, rv).ToJsonString(), o, statusWrite: false);
        return (200, scale.ToScale(updated), o.Warnings);
    }

    private static JsonObject PatchScale(JsonObject current, string mediaType, string? body)
    {
        JsonNode? patch;
        try
        {
            patch = JsonNode.Parse(string.IsNullOrEmpty(body) ? "null" : body);
        }
        catch (JsonException e)
        {
            throw StatusResponses.BadRequest($"error decoding patch: {e.Message}");
        }
        JsonNode? result = mediaType switch
        {
            // Scale has no lists, so a strategic merge patch is a merge patch.
            "application/merge-patch+json" or "application/strategic-merge-patch+json" => MergePatch.Apply(current.DeepClone(), patch),
            "application/json-patch+json" when patch is JsonArray ops => JsonPatch.Apply(current.DeepClone(), ops),
            "application/json-patch+json" => throw StatusResponses.BadRequest("json patch must be an array of operations"),
            _ => throw StatusResponses.UnsupportedMediaType(mediaType),
        };
        return result as JsonObject ?? throw StatusResponses.BadRequest("the patched Scale is not an object");
    }
}
