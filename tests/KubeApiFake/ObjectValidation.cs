using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KubeApiFake;

/// <summary>
/// Validation of names, labels and a few built-in kinds, worded like the real API server:
/// DNS-1123 subdomain names (DNS-1035 labels for Services, DNS-1123 labels for Namespaces), label
/// keys/values, Deployment selector/template/containers, Service ports and clusterIP immutability,
/// Ingress pathType, HorizontalPodAutoscaler replica bounds and scale target, PodDisruptionBudget's
/// exclusive minAvailable/maxUnavailable, and CRD naming.
/// </summary>
internal static partial class ObjectValidation
{
    private const string SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    private const string LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    private const string Dns1035Message =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

    private const string LabelValueMessage =
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Subdomain();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    /// <summary>Checks <c>metadata.name</c> for a new object.</summary>
    public static IEnumerable<FieldCause> Name(ResourceType rt, string name)
    {
        var (regex, max, message) = (rt.Group, rt.Plural) switch
        {
            ("", "services") => (Dns1035Label(), 63, Dns1035Message),
            ("", "namespaces") => (Dns1123Label(), 63, LabelMessage),
            _ => (Subdomain(), 253, SubdomainMessage),
        };
        if (name.Length > max)
        {
            yield return new FieldCause("FieldValueInvalid", $"Invalid value: \"{name}\": must be no more than {max} characters", "metadata.name");
        }
        if (!regex.IsMatch(name))
        {
            yield return new FieldCause("FieldValueInvalid", $"Invalid value: \"{name}\": {message}", "metadata.name");
        }
    }

    /// <summary>Checks metadata (labels) and kind-specific rules.</summary>
    public static List<FieldCause> Validate(ResourceType rt, JsonObject obj, JsonObject? old)
    {
        var causes = new List<FieldCause>();
        Labels(obj, causes);
        switch (rt.Group, rt.Plural)
        {
            case ("apps", "deployments"):
                Deployment(obj, old, causes);
                break;
            case ("", "services"):
                Service(obj, old, causes);
                break;
            case ("networking.k8s.io", "ingresses"):
                Ingress(obj, causes);
                break;
            case ("autoscaling", "horizontalpodautoscalers"):
                HorizontalPodAutoscaler(obj, causes);
                break;
            case ("policy", "poddisruptionbudgets"):
                PodDisruptionBudget(obj, causes);
                break;
            case ("apiextensions.k8s.io", "customresourcedefinitions"):
                causes.AddRange(CustomResourceDefinitions.Validate(obj));
                break;
        }
        return causes;
    }

    private static void Labels(JsonObject obj, List<FieldCause> causes)
    {
        if ((obj["metadata"] as JsonObject)?["labels"] is not JsonObject labels) return;
        foreach (var (key, value) in labels)
        {
            var nameOnly = key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];
            if (nameOnly.Length is 0 or > 63 || !LabelValue().IsMatch(nameOnly))
            {
                causes.Add(new FieldCause("FieldValueInvalid",
                    $"Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", "metadata.labels"));
            }
            var text = JsonUtil.Str(value);
            if (text is null)
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {JsonUtil.Render(value)}: label values must be strings", "metadata.labels"));
                continue;
            }
            if (text.Length > 63)
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: \"{text}\": must be no more than 63 characters", "metadata.labels"));
            }
            else if (!LabelValue().IsMatch(text))
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: \"{text}\": {LabelValueMessage}", "metadata.labels"));
            }
        }
    }

    private static void Deployment(JsonObject obj, JsonObject? old, List<FieldCause> causes)
    {
        var spec = obj["spec"] as JsonObject;
        if (JsonUtil.TryGetLong(spec?["replicas"]) is < 0 and var replicas)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {replicas}: must be greater than or equal to 0", "spec.replicas"));
        }
        var selector = spec?["selector"] as JsonObject;
        if (selector is null || (selector["matchLabels"] is not JsonObject { Count: > 0 } && selector["matchExpressions"] is not JsonArray { Count: > 0 }))
        {
            causes.Add(new FieldCause("FieldValueRequired", "Required value", "spec.selector"));
        }
        else
        {
            var templateLabels = JsonUtil.Labels(spec?["template"] as JsonObject);
            LabelSelector parsed;
            try
            {
                parsed = LabelSelector.FromObject(selector);
            }
            catch (FormatException e)
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: \"object\": {e.Message}", "spec.selector"));
                parsed = LabelSelector.Everything;
            }
            if (!parsed.Matches(templateLabels))
            {
                causes.Add(new FieldCause("FieldValueInvalid",
                    $"Invalid value: {JsonUtil.ToText((spec?["template"] as JsonObject)?["metadata"]?["labels"])}: `selector` does not match template `labels`",
                    "spec.template.metadata.labels"));
            }
            if (old?["spec"]?["selector"] is JsonNode oldSelector && !JsonUtil.DeepEquals(oldSelector, selector))
            {
                causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {JsonUtil.ToText(selector)}: field is immutable", "spec.selector"));
            }
        }
        var containers = spec?["template"]?["spec"]?["containers"] as JsonArray;
        if (containers is null || containers.Count == 0)
        {
            causes.Add(new FieldCause("FieldValueRequired", "Required value", "spec.template.spec.containers"));
            return;
        }
        for (var i = 0; i < containers.Count; i++)
        {
            var c = containers[i] as JsonObject;
            if (string.IsNullOrEmpty(JsonUtil.Str(c?["name"])))
            {
                causes.Add(new FieldCause("FieldValueRequired", "Required value", $"spec.template.spec.containers[{i}].name"));
            }
            if (string.IsNullOrEmpty(JsonUtil.Str(c?["image"])))
            {
                causes.Add(new FieldCause("FieldValueRequired", "Required value", $"spec.template.spec.containers[{i}].image"));
            }
        }
    }

    private static void Service(JsonObject obj, JsonObject? old, List<FieldCause> causes)
    {
        var spec = obj["spec"] as JsonObject;
        var type = JsonUtil.Str(spec?["type"]) ?? "ClusterIP";
        var headless = JsonUtil.Str(spec?["clusterIP"]) == "None";
        var ports = spec?["ports"] as JsonArray;
        if (type != "ExternalName" && !headless && (ports is null || ports.Count == 0))
        {
            causes.Add(new FieldCause("FieldValueRequired", "Required value", "spec.ports"));
        }
        for (var i = 0; i < (ports?.Count ?? 0); i++)
        {
            var p = ports![i] as JsonObject;
            var port = JsonUtil.TryGetLong(p?["port"]);
            if (port is null or < 1 or > 65535)
            {
                causes.Add(new FieldCause("FieldValueInvalid",
                    $"Invalid value: {JsonUtil.Render(p?["port"])}: must be between 1 and 65535, inclusive", $"spec.ports[{i}].port"));
            }
            if (ports.Count > 1 && string.IsNullOrEmpty(JsonUtil.Str(p?["name"])))
            {
                causes.Add(new FieldCause("FieldValueRequired", "Required value", $"spec.ports[{i}].name"));
            }
        }
        var oldIp = JsonUtil.Str(old?["spec"]?["clusterIP"]);
        var newIp = JsonUtil.Str(spec?["clusterIP"]);
        if (!string.IsNullOrEmpty(oldIp) && oldIp != newIp)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: []string{{\"{newIp}\"}}: may not change once set", "spec.clusterIPs[0]"));
        }
    }

    private static void Ingress(JsonObject obj, List<FieldCause> causes)
    {
        if (obj["spec"]?["rules"] is not JsonArray rules) return;
        for (var r = 0; r < rules.Count; r++)
        {
            if (rules[r]?["http"]?["paths"] is not JsonArray paths) continue;
            for (var p = 0; p < paths.Count; p++)
            {
                if (string.IsNullOrEmpty(JsonUtil.Str(paths[p]?["pathType"])))
                {
                    causes.Add(new FieldCause("FieldValueRequired", "Required value: pathType must be specified",
                        $"spec.rules[{r}].http.paths[{p}].pathType"));
                }
            }
        }
    }

    /// <summary>
    /// kubernetes/kubernetes pkg/apis/autoscaling/validation/validation.go,
    /// <c>validateHorizontalPodAutoscalerSpec</c> and <c>ValidateCrossVersionObjectReference</c>
    /// (without the HPAScaleToZero feature gate, so minReplicas is at least 1).
    /// </summary>
    private static void HorizontalPodAutoscaler(JsonObject obj, List<FieldCause> causes)
    {
        var spec = obj["spec"] as JsonObject;
        var min = JsonUtil.TryGetLong(spec?["minReplicas"]);
        var max = JsonUtil.TryGetLong(spec?["maxReplicas"]) ?? 0;
        if (min is < 1)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {min}: must be greater than or equal to 1", "spec.minReplicas"));
        }
        if (max < 1)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {max}: must be greater than 0", "spec.maxReplicas"));
        }
        if (min is { } m && max < m)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {max}: must be greater than or equal to `minReplicas`", "spec.maxReplicas"));
        }
        foreach (var field in new[] { "kind", "name" })
        {
            if (string.IsNullOrEmpty(JsonUtil.Str(spec?["scaleTargetRef"]?[field])))
            {
                causes.Add(new FieldCause("FieldValueRequired", "Required value", $"spec.scaleTargetRef.{field}"));
            }
        }
    }

    /// <summary>kubernetes/kubernetes pkg/apis/policy/validation/validation.go, <c>ValidatePodDisruptionBudgetSpec</c>.</summary>
    private static void PodDisruptionBudget(JsonObject obj, List<FieldCause> causes)
    {
        var spec = obj["spec"] as JsonObject;
        if (spec?["minAvailable"] is not null && spec["maxUnavailable"] is not null)
        {
            causes.Add(new FieldCause("FieldValueInvalid", "Invalid value: \"object\": minAvailable and maxUnavailable cannot be both set", "spec"));
        }
    }
}
