using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KubeApiFake;

/// <summary>
/// Legacy (unaggregated) discovery documents: <c>/api</c> (APIVersions), <c>/apis</c> (APIGroupList),
/// <c>/apis/{group}</c> (APIGroup), <c>/api/v1</c> and <c>/apis/{group}/{version}</c> (APIResourceList
/// with <c>&lt;plural&gt;/status</c> entries), and <c>/version</c>. Clients that ask for aggregated
/// discovery get these legacy documents with <c>Content-Type: application/json</c> and fall back.
/// </summary>
internal static partial class Discovery
{
    private static readonly string[] FullVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    private static readonly string[] NamespaceVerbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
    private static readonly string[] StatusVerbs = ["get", "patch", "update"];

    /// <summary>
    /// The Pod subresources the fake serves besides status, as kube-apiserver lists them in
    /// <c>/api/v1</c> (alphabetical; the eviction entry names its own group and version, which
    /// kubectl drain looks for: k8s.io/kubectl/pkg/drain/drain.go, <c>CheckEvictionSupport</c>).
    /// </summary>
    private static readonly JsonObject[] PodSubresources =
    [
        Subresource("pods/attach", "PodAttachOptions", ["create", "get"]),
        Subresource("pods/binding", "Binding", ["create"]),
        Subresource("pods/eviction", "Eviction", ["create"], "policy", "v1"),
        Subresource("pods/exec", "PodExecOptions", ["create", "get"]),
        Subresource("pods/log", "Pod", ["get"]),
    ];

    private static JsonObject Subresource(string name, string kind, string[] verbs, string? group = null, string? version = null)
    {
        var entry = new JsonObject { ["name"] = name, ["singularName"] = "", ["namespaced"] = true };
        if (group is not null) entry["group"] = group;
        if (version is not null) entry["version"] = version;
        entry["kind"] = kind;
        entry["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]);
        return entry;
    }

    public static JsonObject ApiVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
        {
            ["clientCIDR"] = "0.0.0.0/0",
            ["serverAddress"] = serverAddress,
        }),
    };

    /// <summary>
    /// <c>/apis</c>: the groups served here, then those only APIServices with a backend serve (the
    /// aggregator's <c>apisHandler</c>, staging/src/k8s.io/kube-aggregator/pkg/apiserver/handler_apis.go).
    /// </summary>
    public static JsonObject GroupList(IReadOnlyList<ResourceType> types, IReadOnlyList<JsonObject>? apiServices = null)
    {
        var groups = new JsonArray();
        foreach (var group in types.Where(t => t.Group.Length > 0).Select(t => t.Group).Distinct())
        {
            groups.Add(GroupEntry(types, group));
        }
        foreach (var group in (apiServices ?? []).Select(a => JsonUtil.Str(a["spec"]?["group"]) ?? "").Where(g => g.Length > 0)
            .Distinct().Where(g => !types.Any(t => t.Group == g)))
        {
            groups.Add(AggregatedGroupEntry(apiServices!, group));
        }
        return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
    }

    /// <summary>
    /// <c>/apis/{group}</c> of a group only APIServices serve (the aggregator's <c>apiGroupHandler</c>),
    /// or null when none does: its versions by <c>versionPriority</c>, highest first and preferred.
    /// </summary>
    public static JsonObject? AggregatedGroup(IReadOnlyList<JsonObject> apiServices, string group)
    {
        if (!apiServices.Any(a => JsonUtil.Str(a["spec"]?["group"]) == group)) return null;
        var entry = AggregatedGroupEntry(apiServices, group);
        var result = new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1" };
        foreach (var (k, v) in entry.ToList())
        {
            entry.Remove(k);
            result[k] = v;
        }
        return result;
    }

    /// <summary>apiregistration's <c>SortedByGroupAndVersion</c>: versionPriority descending, then Kubernetes version order.</summary>
    private static JsonObject AggregatedGroupEntry(IReadOnlyList<JsonObject> apiServices, string group)
    {
        var versions = apiServices.Where(a => JsonUtil.Str(a["spec"]?["group"]) == group)
            .OrderByDescending(a => JsonUtil.TryGetLong(a["spec"]?["versionPriority"]) ?? 0)
            .ThenBy(a => JsonUtil.Str(a["spec"]?["version"]) ?? "", VersionPriority)
            .Select(a => JsonUtil.Str(a["spec"]?["version"]) ?? "")
            .Distinct()
            .ToList();
        JsonObject Gv(string v) => new() { ["groupVersion"] = $"{group}/{v}", ["version"] = v };
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray(versions.Select(v => (JsonNode)Gv(v)).ToArray()),
            ["preferredVersion"] = Gv(versions[0]),
        };
    }

    public static JsonObject? Group(IReadOnlyList<ResourceType> types, string group)
    {
        if (!types.Any(t => t.Group == group)) return null;
        var entry = GroupEntry(types, group);
        var result = new JsonObject { ["kind"] = "APIGroup", ["apiVersion"] = "v1" };
        foreach (var (k, v) in entry.ToList())
        {
            entry.Remove(k);
            result[k] = v;
        }
        return result;
    }

    private static JsonObject GroupEntry(IReadOnlyList<ResourceType> types, string group)
    {
        var versions = types.Where(t => t.Group == group).Select(t => t.Version).Distinct().OrderBy(v => v, VersionPriority).ToList();
        JsonObject Gv(string v) => new() { ["groupVersion"] = $"{group}/{v}", ["version"] = v };
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray(versions.Select(v => (JsonNode)Gv(v)).ToArray()),
            ["preferredVersion"] = Gv(versions[0]),
        };
    }

    public static JsonObject? ResourceList(IReadOnlyList<ResourceType> types, string group, string version)
    {
        var served = types.Where(t => t.Group == group && t.Version == version).OrderBy(t => t.Plural, StringComparer.Ordinal).ToList();
        if (served.Count == 0) return null;
        var resources = new JsonArray();
        foreach (var t in served)
        {
            var entry = new JsonObject
            {
                ["name"] = t.Plural,
                ["singularName"] = t.Singular,
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray((t.Group.Length == 0 && t.Plural == "namespaces" ? NamespaceVerbs : FullVerbs)
                    .Select(v => (JsonNode)v).ToArray()),
            };
            if (t.ShortNames.Count > 0) entry["shortNames"] = new JsonArray(t.ShortNames.Select(s => (JsonNode)s).ToArray());
            if (t.Categories.Count > 0) entry["categories"] = new JsonArray(t.Categories.Select(s => (JsonNode)s).ToArray());
            resources.Add(entry);
            if (t is { Group: "", Plural: "pods" })
            {
                foreach (var sub in PodSubresources) resources.Add(sub.DeepClone());
            }
            // Subresources in the real server's order: scale before status.
            if (t.Scale is not null) resources.Add(ScaleSubresource.DiscoveryEntry(t));
            if (t.HasStatusSubresource)
            {
                resources.Add(new JsonObject
                {
                    ["name"] = $"{t.Plural}/status",
                    ["singularName"] = "",
                    ["namespaced"] = t.Namespaced,
                    ["kind"] = t.Kind,
                    ["verbs"] = new JsonArray(StatusVerbs.Select(v => (JsonNode)v).ToArray()),
                });
            }
        }
        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    public static JsonObject Version(string gitVersion)
    {
        var m = SemVer().Match(gitVersion);
        return new JsonObject
        {
            ["major"] = m.Success ? m.Groups[1].Value : "1",
            ["minor"] = m.Success ? m.Groups[2].Value : "31",
            ["gitVersion"] = gitVersion,
            ["gitCommit"] = "0000000000000000000000000000000000000000",
            ["gitTreeState"] = "clean",
            ["buildDate"] = "2024-08-13T07:28:49Z",
            ["goVersion"] = "go1.22.5",
            ["compiler"] = "gc",
            ["platform"] = "linux/amd64",
        };
    }

    /// <summary>Kubernetes version priority: GA before beta before alpha, higher numbers first.</summary>
    private static readonly Comparer<string> VersionPriority = Comparer<string>.Create(static (a, b) =>
    {
        var ka = Key(a);
        var kb = Key(b);
        var c = kb.Stability.CompareTo(ka.Stability);
        if (c != 0) return c;
        c = kb.Major.CompareTo(ka.Major);
        if (c != 0) return c;
        c = kb.Minor.CompareTo(ka.Minor);
        return c != 0 ? c : string.CompareOrdinal(a, b);
    });

    private static (int Stability, int Major, int Minor) Key(string version)
    {
        var m = KubeVersion().Match(version);
        if (!m.Success) return (0, 0, 0);
        var stability = m.Groups[2].Value switch { "" => 3, "beta" => 2, _ => 1 };
        var minor = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
        return (stability, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), minor);
    }

    [GeneratedRegex("^v([0-9]+)(alpha|beta)?([0-9]+)?$")]
    private static partial Regex KubeVersion();

    [GeneratedRegex(@"^v?([0-9]+)\.([0-9]+)")]
    private static partial Regex SemVer();
}
