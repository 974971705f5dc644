using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A minimal OpenAPI v3 surface (<c>/openapi/v3</c> and one document per group-version) so that
/// kubectl's field-validation check finds <c>fieldValidation</c> on PATCH and skips client-side
/// schema validation. Schemas are placeholders for built-ins and the CRD schema for custom
/// resources; no full Kubernetes OpenAPI is served (<c>/openapi/v2</c> answers 404).
/// </summary>
internal static class OpenApi
{
    private static readonly string[] WriteParameters = ["dryRun", "fieldManager", "fieldValidation", "force"];

    public static JsonObject Root(IReadOnlyList<ResourceType> types)
    {
        var paths = new JsonObject();
        foreach (var gv in types.Select(t => (t.Group, t.Version)).Distinct())
        {
            var path = GroupVersionPath(gv.Group, gv.Version);
            var hash = Hash(types.Where(t => t.Group == gv.Group && t.Version == gv.Version));
            paths[path] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{path}?hash={hash}" };
        }
        return new JsonObject { ["paths"] = paths };
    }

    public static string GroupVersionPath(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    public static JsonObject? Document(IReadOnlyList<ResourceType> types, string group, string version)
    {
        var served = types.Where(t => t.Group == group && t.Version == version).ToList();
        if (served.Count == 0) return null;
        var paths = new JsonObject();
        var schemas = new JsonObject();
        var prefix = "/" + GroupVersionPath(group, version);
        foreach (var t in served)
        {
            var gvk = new JsonObject { ["group"] = t.Group, ["kind"] = t.Kind, ["version"] = t.Version };
            var item = t.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{t.Plural}/{{name}}" : $"{prefix}/{t.Plural}/{{name}}";
            var collection = t.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{t.Plural}" : $"{prefix}/{t.Plural}";
            var schemaName = SchemaName(t);
            paths[item] = new JsonObject
            {
                ["get"] = Operation("read", t, gvk, [], schemaName),
                ["put"] = Operation("replace", t, gvk, WriteParameters.Where(p => p != "force"), schemaName),
                ["patch"] = Operation("patch", t, gvk, WriteParameters, schemaName),
                ["delete"] = Operation("delete", t, gvk, ["dryRun"], schemaName),
            };
            paths[collection] = new JsonObject
            {
                ["get"] = Operation("list", t, gvk, [], schemaName),
                ["post"] = Operation("create", t, gvk, WriteParameters.Where(p => p != "force"), schemaName),
            };
            var schema = t.Schema?.DeepClone() as JsonObject ?? new JsonObject
            {
                ["description"] = $"{t.Kind} ({t.ApiVersion}); the fake API server does not publish built-in schemas.",
                ["type"] = "object",
                ["x-kubernetes-preserve-unknown-fields"] = true,
            };
            schema["x-kubernetes-group-version-kind"] = new JsonArray(gvk.DeepClone());
            schemas[schemaName] = schema;
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "unversioned" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }

    private static string SchemaName(ResourceType t)
    {
        var group = t.Group.Length == 0 ? "core" : string.Join(".", t.Group.Split('.').Reverse());
        return $"{group}.{t.Version}.{t.Kind}";
    }

    private static JsonObject Operation(string action, ResourceType t, JsonObject gvk, IEnumerable<string> queryParameters, string schemaName)
    {
        var parameters = new JsonArray();
        foreach (var p in queryParameters)
        {
            parameters.Add(new JsonObject
            {
                ["name"] = p,
                ["in"] = "query",
                ["schema"] = new JsonObject { ["type"] = p == "force" ? "boolean" : "string", ["uniqueItems"] = true },
            });
        }
        return new JsonObject
        {
            ["operationId"] = $"{action}{t.Kind}",
            ["parameters"] = parameters,
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject
                {
                    ["description"] = "OK",
                    ["content"] = new JsonObject
                    {
                        ["application/json"] = new JsonObject
                        {
                            ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" },
                        },
                    },
                },
            },
            ["x-kubernetes-action"] = action switch { "read" => "get", "replace" => "put", "create" => "post", _ => action },
            ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
        };
    }

    private static string Hash(IEnumerable<ResourceType> types)
    {
        var text = string.Join("|", types.Select(t => $"{t.Plural}/{t.Kind}/{t.Namespaced}/{t.HasStatusSubresource}/{t.Schema?.ToJsonString()}"));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }
}
