using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Server-side defaulting of built-in kinds, a subset of what the real API server does:
/// Deployment (replicas 1, strategy RollingUpdate 25%/25%, revisionHistoryLimit 10,
/// progressDeadlineSeconds 600, pod template defaults), Service (type ClusterIP, allocated clusterIP,
/// sessionAffinity None, port protocol TCP and targetPort), Secret (type Opaque, stringData folded
/// into data), Namespace (phase Active, finalizer, name label), Ingress/Service/Deployment initial
/// status, Pod phase Pending, CRD status (Established), HorizontalPodAutoscaler (minReplicas 1, CPU at
/// 80 % when no metric is given, the rules of a given behavior), NetworkPolicy (policyTypes, port
/// protocol TCP), APIService (service port 443).
/// </summary>
internal static class Defaulting
{
    public static void Apply(ResourceType rt, JsonObject obj, JsonObject? old, Func<string> allocateClusterIp, string now)
    {
        switch (rt.Group, rt.Plural)
        {
            case ("apps", "deployments"):
                Deployment(obj);
                break;
            case ("", "services"):
                Service(obj, old, allocateClusterIp);
                break;
            case ("", "secrets"):
                obj["type"] ??= "Opaque";
                break;
            case ("", "namespaces"):
                Namespace(obj);
                break;
            case ("autoscaling", "horizontalpodautoscalers"):
                HorizontalPodAutoscaler(obj);
                break;
            case ("networking.k8s.io", "networkpolicies"):
                NetworkPolicy(obj);
                break;
            case ("networking.k8s.io", "ingresses"):
                if (obj["status"] is not JsonObject) obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
                break;
            case ("", "pods"):
                // A Pod no kubelet has seen yet: the registry's PrepareForCreate sets phase Pending.
                if (obj["status"] is not JsonObject { Count: > 0 }) obj["status"] = new JsonObject { ["phase"] = "Pending" };
                break;
            case ("apiregistration.k8s.io", "apiservices"):
                // apiregistration v1 SetDefaults_ServiceReference: port 443.
                if (obj["spec"]?["service"] is JsonObject service) service["port"] ??= ResourceStore.DefaultApiServicePort;
                break;
            case ("apiextensions.k8s.io", "customresourcedefinitions"):
                CustomResourceDefinitions.Default(obj, old, now);
                break;
        }
    }

    /// <summary>Secret <c>stringData</c> is write-only: merged into <c>data</c> (base64) and dropped. Invalid base64 in data is a 400.</summary>
    public static void SecretData(JsonObject obj)
    {
        if (obj["stringData"] is JsonObject stringData)
        {
            if (obj["data"] is not JsonObject data)
            {
                data = new JsonObject();
                obj["data"] = data;
            }
            foreach (var (k, v) in stringData)
            {
                data[k] = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonUtil.Str(v) ?? ""));
            }
        }
        obj.Remove("stringData");
        if (obj["data"] is JsonObject d)
        {
            foreach (var (_, v) in d)
            {
                var text = JsonUtil.Str(v);
                if (v is not null && text is null) throw StatusResponses.BadRequest("Secret in version \"v1\" cannot be handled as a Secret: json: cannot unmarshal value into Go struct field Secret.data of type []uint8");
                try
                {
                    Convert.FromBase64String(text ?? "");
                }
                catch (FormatException)
                {
                    throw StatusResponses.BadRequest("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0");
                }
            }
        }
    }

    private static JsonObject Child(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject o) return o;
        o = new JsonObject();
        parent[key] = o;
        return o;
    }

    /// <summary>
    /// kubernetes/kubernetes pkg/apis/autoscaling/v2/defaults.go, <c>SetDefaults_HorizontalPodAutoscaler</c>:
    /// minReplicas 1; with no metrics, a Resource metric on CPU at 80 % average utilization; and a
    /// <c>behavior</c> that is given gets every rule field it leaves out
    /// (<c>SetDefaults_HorizontalPodAutoscalerBehavior</c>, <c>GenerateHPAScaleUpRules</c>,
    /// <c>GenerateHPAScaleDownRules</c>, <c>copyHPAScalingRules</c>): scale up with no
    /// stabilization window, selectPolicy Max, policies 4 Pods and 100 % per 15 s; scale down
    /// selectPolicy Max, 100 % per 15 s, and no window (the controller's
    /// <c>--horizontal-pod-autoscaler-downscale-stabilization</c>, 5 minutes, applies). A missing
    /// behavior stays missing.
    /// </summary>
    private static void HorizontalPodAutoscaler(JsonObject obj)
    {
        var specObject = Child(obj, "spec");
        if (specObject["behavior"] is JsonObject behavior)
        {
            behavior["scaleUp"] = ScalingRules(behavior["scaleUp"] as JsonObject, stabilizationWindowSeconds: 0,
                Policy("Pods", 4, 15), Policy("Percent", 100, 15));
            behavior["scaleDown"] = ScalingRules(behavior["scaleDown"] as JsonObject, stabilizationWindowSeconds: null, Policy("Percent", 100, 15));
        }
        HorizontalPodAutoscalerMetrics(obj);
    }

    private static JsonObject Policy(string type, int value, int periodSeconds) =>
        new() { ["type"] = type, ["value"] = value, ["periodSeconds"] = periodSeconds };

    /// <summary><c>copyHPAScalingRules(given, defaults)</c>: each field the rules give (a policies list, even empty, included) wins.</summary>
    private static JsonObject ScalingRules(JsonObject? given, int? stabilizationWindowSeconds, params JsonObject[] policies)
    {
        var rules = new JsonObject();
        if (given?["stabilizationWindowSeconds"] is { } window) rules["stabilizationWindowSeconds"] = window.DeepClone();
        else if (stabilizationWindowSeconds is { } seconds) rules["stabilizationWindowSeconds"] = seconds;
        rules["selectPolicy"] = given?["selectPolicy"]?.DeepClone() ?? "Max";
        rules["policies"] = given?["policies"] is JsonArray list ? list.DeepClone() : new JsonArray([.. policies]);
        if (given?["tolerance"] is { } tolerance) rules["tolerance"] = tolerance.DeepClone();
        return rules;
    }

    private static void HorizontalPodAutoscalerMetrics(JsonObject obj)
    {
        var spec = Child(obj, "spec");
        spec["minReplicas"] ??= 1;
        if (spec["metrics"] is not JsonArray { Count: > 0 })
        {
            spec["metrics"] = new JsonArray(new JsonObject
            {
                ["type"] = "Resource",
                ["resource"] = new JsonObject
                {
                    ["name"] = "cpu",
                    ["target"] = new JsonObject { ["type"] = "Utilization", ["averageUtilization"] = 80 },
                },
            });
        }
    }

    /// <summary>
    /// kubernetes/kubernetes pkg/apis/networking/v1/defaults.go: each port's protocol TCP; policyTypes
    /// Ingress, plus Egress when egress rules are given (<c>SetDefaults_NetworkPolicySpec</c>).
    /// </summary>
    private static void NetworkPolicy(JsonObject obj)
    {
        var spec = Child(obj, "spec");
        foreach (var direction in new[] { "ingress", "egress" })
        {
            foreach (var rule in (spec[direction] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                foreach (var port in (rule["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
                {
                    port["protocol"] ??= "TCP";
                }
            }
        }
        if (spec["policyTypes"] is not JsonArray { Count: > 0 })
        {
            var types = new JsonArray("Ingress");
            if (spec["egress"] is JsonArray { Count: > 0 }) types.Add("Egress");
            spec["policyTypes"] = types;
        }
    }

    private static void Deployment(JsonObject obj)
    {
        var spec = Child(obj, "spec");
        spec["replicas"] ??= 1;
        var strategy = Child(spec, "strategy");
        strategy["type"] ??= "RollingUpdate";
        if (JsonUtil.Str(strategy["type"]) == "RollingUpdate")
        {
            var rolling = Child(strategy, "rollingUpdate");
            rolling["maxUnavailable"] ??= "25%";
            rolling["maxSurge"] ??= "25%";
        }
        spec["revisionHistoryLimit"] ??= 10;
        spec["progressDeadlineSeconds"] ??= 600;
        if (spec["template"] is JsonObject template && template["spec"] is JsonObject podSpec) PodSpec(podSpec);
        if (obj["status"] is not JsonObject) obj["status"] = new JsonObject();
    }

    private static void PodSpec(JsonObject pod)
    {
        pod["restartPolicy"] ??= "Always";
        pod["terminationGracePeriodSeconds"] ??= 30;
        pod["dnsPolicy"] ??= "ClusterFirst";
        pod["securityContext"] ??= new JsonObject();
        pod["schedulerName"] ??= "default-scheduler";
        foreach (var listName in new[] { "initContainers", "containers" })
        {
            if (pod[listName] is not JsonArray containers) continue;
            foreach (var c in containers.OfType<JsonObject>()) Container(c);
        }
        if (pod["volumes"] is JsonArray volumes)
        {
            foreach (var v in volumes.OfType<JsonObject>())
            {
                if (v["secret"] is JsonObject s) s["defaultMode"] ??= 420;
                if (v["configMap"] is JsonObject cm) cm["defaultMode"] ??= 420;
            }
        }
    }

    private static void Container(JsonObject c)
    {
        c["terminationMessagePath"] ??= "/dev/termination-log";
        c["terminationMessagePolicy"] ??= "File";
        c["resources"] ??= new JsonObject();
        if (c["imagePullPolicy"] is null)
        {
            var image = JsonUtil.Str(c["image"]) ?? "";
            var lastSegment = image[(image.LastIndexOf('/') + 1)..];
            var tag = lastSegment.Contains('@', StringComparison.Ordinal) ? "digest"
                : lastSegment.Contains(':', StringComparison.Ordinal) ? lastSegment[(lastSegment.IndexOf(':', StringComparison.Ordinal) + 1)..] : "latest";
            c["imagePullPolicy"] = tag == "latest" ? "Always" : "IfNotPresent";
        }
        if (c["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>()) p["protocol"] ??= "TCP";
        }
        foreach (var probeName in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            if (c[probeName] is not JsonObject probe) continue;
            probe["timeoutSeconds"] ??= 1;
            probe["periodSeconds"] ??= 10;
            probe["successThreshold"] ??= 1;
            probe["failureThreshold"] ??= 3;
            if (probe["httpGet"] is JsonObject http) http["scheme"] ??= "HTTP";
        }
    }

    private static void Service(JsonObject obj, JsonObject? old, Func<string> allocateClusterIp)
    {
        var spec = Child(obj, "spec");
        spec["type"] ??= "ClusterIP";
        spec["sessionAffinity"] ??= "None";
        if (JsonUtil.Str(spec["type"]) != "ExternalName")
        {
            var oldSpec = old?["spec"] as JsonObject;
            if (string.IsNullOrEmpty(JsonUtil.Str(spec["clusterIP"])))
            {
                // Like the real registry: an update that omits clusterIP keeps the allocated one.
                var kept = JsonUtil.Str(oldSpec?["clusterIP"]);
                spec["clusterIP"] = string.IsNullOrEmpty(kept) ? allocateClusterIp() : kept;
                spec.Remove("clusterIPs");
            }
            spec["clusterIPs"] ??= new JsonArray(JsonValue.Create(JsonUtil.Str(spec["clusterIP"])));
            spec["ipFamilies"] ??= new JsonArray("IPv4");
            spec["ipFamilyPolicy"] ??= "SingleStack";
            spec["internalTrafficPolicy"] ??= "Cluster";
        }
        if (spec["ports"] is JsonArray ports)
        {
            foreach (var p in ports.OfType<JsonObject>())
            {
                p["protocol"] ??= "TCP";
                p["targetPort"] ??= p["port"]?.DeepClone();
            }
        }
        if (obj["status"] is not JsonObject) obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
    }

    private static void Namespace(JsonObject obj)
    {
        var meta = JsonUtil.Metadata(obj);
        var labels = Child(meta, "labels");
        labels["kubernetes.io/metadata.name"] = JsonUtil.Str(meta["name"]);
        var spec = Child(obj, "spec");
        spec["finalizers"] ??= new JsonArray("kubernetes");
        var status = Child(obj, "status");
        status["phase"] ??= "Active";
    }
}
