using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A parsed field selector (<c>metadata.name=x,metadata.namespace!=y</c>). Which fields are
/// selectable depends on the resource, as on a real server; others answer 400.
/// </summary>
internal sealed class FieldSelector
{
    private static readonly string[] EventFields =
    [
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    ];

    // pkg/registry/core/pod/strategy.go, PodToSelectableFields (kubectl describe node and a kubelet select Pods by node).
    private static readonly string[] PodFields =
    [
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
        "status.phase", "status.podIP", "status.nominatedNodeName",
    ];

    private readonly List<(string Field, bool Equal, string Value)> _terms;

    private FieldSelector(List<(string, bool, string)> terms) => _terms = terms;

    public static FieldSelector Everything { get; } = new([]);

    public IEnumerable<string> EqualityNames =>
        _terms.Where(t => t.Equal && t.Field == "metadata.name").Select(t => t.Value);

    public static FieldSelector Parse(string? text, ResourceType rt)
    {
        if (string.IsNullOrWhiteSpace(text)) return Everything;
        var terms = new List<(string, bool, string)>();
        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            if (part.Length == 0) continue;
            string field, value;
            bool equal;
            int idx;
            if ((idx = part.IndexOf("!=", StringComparison.Ordinal)) >= 0)
            {
                (field, value, equal) = (part[..idx], part[(idx + 2)..], false);
            }
            else if ((idx = part.IndexOf("==", StringComparison.Ordinal)) >= 0)
            {
                (field, value, equal) = (part[..idx], part[(idx + 2)..], true);
            }
            else if ((idx = part.IndexOf('=', StringComparison.Ordinal)) >= 0)
            {
                (field, value, equal) = (part[..idx], part[(idx + 1)..], true);
            }
            else
            {
                throw new FormatException($"invalid selector: '{text}'; can't understand '{part}'");
            }
            field = field.Trim();
            if (!Supported(rt, field)) throw new FormatException($"field label not supported: {field}");
            terms.Add((field, equal, value.Trim()));
        }
        return new FieldSelector(terms);
    }

    public static FieldSelector ForName(string name) => new([("metadata.name", true, name)]);

    public FieldSelector And(FieldSelector other) => new([.. _terms, .. other._terms]);

    public bool Matches(JsonObject obj) => _terms.All(t => (Value(obj, t.Field) == t.Value) == t.Equal);

    private static bool Supported(ResourceType rt, string field) =>
        field is "metadata.name" or "metadata.namespace"
        || (rt.Group.Length == 0 && rt.Plural == "secrets" && field == "type")
        || (rt.Group.Length == 0 && rt.Plural == "namespaces" && field == "status.phase")
        || (rt.Plural == "events" && EventFields.Contains(field))
        || (rt.Group.Length == 0 && rt.Plural == "pods" && PodFields.Contains(field))
        || (rt.Group.Length == 0 && rt.Plural == "nodes" && field == "spec.unschedulable");

    private static string Value(JsonObject obj, string field)
    {
        switch (field)
        {
            case "source":
                field = "source.component";
                break;
            case "spec.hostNetwork" or "spec.unschedulable":
                // strconv.FormatBool of a bool that defaults to false.
                var flag = obj["spec"]?[field["spec.".Length..]];
                return JsonUtil.IsTrue(flag) ? "true" : "false";
            case "status.podIP":
                var ips = obj["status"]?["podIPs"] as JsonArray;
                return (ips is { Count: > 0 } ? JsonUtil.Str(ips[0]?["ip"]) : JsonUtil.Str(obj["status"]?["podIP"])) ?? "";
        }
        JsonNode? node = obj;
        foreach (var part in field.Split('.'))
        {
            node = (node as JsonObject)?[part];
        }
        return JsonUtil.Str(node) ?? (node is JsonValue v ? JsonUtil.ToText(v) : "");
    }
}
