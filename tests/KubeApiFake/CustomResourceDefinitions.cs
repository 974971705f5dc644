using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Turns CustomResourceDefinition objects into served <see cref="ResourceType"/>s (group, served
/// versions, plural, kind, scope, status subresource, schema), validates their naming, and fills
/// the status a real server would report once the CRD is established.
/// </summary>
internal static class CustomResourceDefinitions
{
    public static List<FieldCause> Validate(JsonObject crd)
    {
        var causes = new List<FieldCause>();
        var spec = crd["spec"] as JsonObject;
        var group = JsonUtil.Str(spec?["group"]);
        var plural = JsonUtil.Str(spec?["names"]?["plural"]);
        var kind = JsonUtil.Str(spec?["names"]?["kind"]);
        var name = JsonUtil.MetaString(crd, "name") ?? "";
        if (string.IsNullOrEmpty(group)) causes.Add(new("FieldValueRequired", "Required value", "spec.group"));
        if (string.IsNullOrEmpty(plural)) causes.Add(new("FieldValueRequired", "Required value", "spec.names.plural"));
        if (string.IsNullOrEmpty(kind)) causes.Add(new("FieldValueRequired", "Required value", "spec.names.kind"));
        if (!string.IsNullOrEmpty(group) && !string.IsNullOrEmpty(plural) && name != $"{plural}.{group}")
        {
            causes.Add(new("FieldValueInvalid", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group", "metadata.name"));
        }
        var scope = JsonUtil.Str(spec?["scope"]);
        if (scope is not ("Namespaced" or "Cluster"))
        {
            causes.Add(new("FieldValueNotSupported", $"Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\"", "spec.scope"));
        }
        var versions = spec?["versions"] as JsonArray;
        if (versions is null || versions.Count == 0)
        {
            causes.Add(new("FieldValueInvalid", "Invalid value: \"null\": must have exactly one version marked as storage version", "spec.versions"));
        }
        else if (versions.Count(v => JsonUtil.IsTrue(v?["storage"])) != 1)
        {
            causes.Add(new("FieldValueInvalid", "Invalid value: \"array\": must have exactly one version marked as storage version", "spec.versions"));
        }
        return causes;
    }

    public static void Default(JsonObject crd, JsonObject? old, string now)
    {
        if (crd["spec"] is not JsonObject spec) return;
        if (spec["names"] is JsonObject names)
        {
            var kind = JsonUtil.Str(names["kind"]) ?? "";
            names["singular"] ??= kind.ToLowerInvariant();
            names["listKind"] ??= kind + "List";
        }
        spec["conversion"] ??= new JsonObject { ["strategy"] = "None" };
        var oldConditions = old?["status"]?["conditions"] as JsonArray;
        string Since(string type) =>
            JsonUtil.Str(oldConditions?.OfType<JsonObject>().FirstOrDefault(c => JsonUtil.Str(c["type"]) == type)?["lastTransitionTime"]) ?? now;
        var stored = (spec["versions"] as JsonArray)?.OfType<JsonObject>()
            .Where(v => JsonUtil.IsTrue(v["storage"])).Select(v => JsonUtil.Str(v["name"])).ToList() ?? [];
        var storedVersions = (old?["status"]?["storedVersions"] as JsonArray)?.Select(JsonUtil.Str).ToList() ?? [];
        foreach (var v in stored.Where(v => !storedVersions.Contains(v))) storedVersions.Add(v);
        crd["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "NamesAccepted", ["status"] = "True", ["lastTransitionTime"] = Since("NamesAccepted"),
                    ["reason"] = "NoConflicts", ["message"] = "no conflicts found",
                },
                new JsonObject
                {
                    ["type"] = "Established", ["status"] = "True", ["lastTransitionTime"] = Since("Established"),
                    ["reason"] = "InitialNamesAccepted", ["message"] = "the initial names have been accepted",
                }),
            ["acceptedNames"] = spec["names"]?.DeepClone(),
            ["storedVersions"] = new JsonArray(storedVersions.Select(v => JsonValue.Create(v)).ToArray<JsonNode?>()),
        };
    }

    public static List<ResourceType> ToResourceTypes(JsonObject crd)
    {
        var result = new List<ResourceType>();
        if (crd["spec"] is not JsonObject spec) return result;
        var group = JsonUtil.Str(spec["group"]) ?? "";
        var names = spec["names"] as JsonObject;
        var plural = JsonUtil.Str(names?["plural"]) ?? "";
        var kind = JsonUtil.Str(names?["kind"]) ?? "";
        var namespaced = JsonUtil.Str(spec["scope"]) != "Cluster";
        foreach (var version in (spec["versions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            if (!JsonUtil.IsTrue(version["served"])) continue;
            var name = JsonUtil.Str(version["name"]) ?? "";
            result.Add(new ResourceType(group, name, plural, kind, namespaced)
            {
                Singular = JsonUtil.Str(names?["singular"]) ?? kind.ToLowerInvariant(),
                ListKind = JsonUtil.Str(names?["listKind"]) ?? kind + "List",
                ShortNames = Strings(names?["shortNames"]),
                Categories = Strings(names?["categories"]),
                HasStatusSubresource = version["subresources"]?["status"] is not null,
                IsCustomResource = true,
                Schema = version["schema"]?["openAPIV3Schema"]?.DeepClone() as JsonObject,
                Scale = ScaleSubresource.FromCrd(version["subresources"]?["scale"] as JsonObject),
                PrinterColumns = version["additionalPrinterColumns"]?.DeepClone() as JsonArray,
            });
        }
        return result;
    }

    private static List<string> Strings(JsonNode? node) =>
        (node as JsonArray)?.Select(JsonUtil.Str).OfType<string>().ToList() ?? [];
}
