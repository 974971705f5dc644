using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// kube-apiserver's Node authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go,
/// <c>Authorize</c>), which runs before RBAC (<c>--authorization-mode=Node,RBAC</c>) and has an
/// opinion only about nodes (<see cref="KubeUser.NodeName"/>): Secrets and ConfigMaps may be read
/// (get, or list/watch of one name) only when a Pod bound to the node uses them
/// (<c>authorizeReadNamespacedObject</c>); a token may be created only for a ServiceAccount a Pod
/// bound to the node runs as (<c>authorizeCreateToken</c>); Leases only in kube-node-lease under the
/// node's own name (<c>authorizeLease</c>); everything else as the static <c>system:node</c> rules of
/// plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (<c>NodeRules</c>) allow. The real
/// authorizer follows a graph its informers keep (Pod to Secret, ConfigMap, ServiceAccount, PVC...);
/// here the Pods are read from the store on every request, so there is no lag. What the node writes is
/// further restricted by <see cref="NodeRestriction"/>.
/// </summary>
internal sealed class NodeAuthorizer(ResourceStore store)
{
    private static readonly string[] Read = ["get", "list", "watch"];

    /// <summary>NodeRules of bootstrappolicy/policy.go (Kubernetes 1.31), as RBAC rules.</summary>
    private static readonly JsonObject[] NodeRules =
    [
        Rule(["create"], "authentication.k8s.io", "tokenreviews"),
        Rule(["create"], "authorization.k8s.io", "subjectaccessreviews", "localsubjectaccessreviews"),
        Rule(Read, "", "services"),
        Rule(["create", "get", "list", "watch"], "", "nodes"),
        Rule(["update", "patch"], "", "nodes/status"),
        Rule(["update", "patch"], "", "nodes"),
        Rule(["create", "update", "patch"], "", "events"),
        Rule(Read, "", "pods"),
        Rule(["create", "delete"], "", "pods"),
        Rule(["update", "patch"], "", "pods/status"),
        Rule(["create"], "", "pods/eviction"),
        Rule(Read, "", "secrets", "configmaps"),
        Rule(["get"], "", "persistentvolumeclaims", "persistentvolumes"),
        Rule(["create", "get", "list", "watch"], "certificates.k8s.io", "certificatesigningrequests"),
        Rule(["get", "create", "update", "patch", "delete"], "coordination.k8s.io", "leases"),
        Rule(["get"], "storage.k8s.io", "volumeattachments"),
        Rule(["get", "update", "patch"], "", "persistentvolumeclaims/status"),
        Rule(["create"], "", "serviceaccounts/token"),
        Rule(Read, "storage.k8s.io", "csidrivers"),
        Rule(["get", "create", "update", "patch", "delete"], "storage.k8s.io", "csinodes"),
        Rule(Read, "node.k8s.io", "runtimeclasses"),
    ];

    /// <summary>Allowed, or no opinion (false) with the authorizer's reason; users that are not nodes get no opinion and no reason.</summary>
    public (bool Allowed, string Reason) Authorize(KubeUser user, RequestAttributes a)
    {
        if (user.NodeName is not { } nodeName) return (false, "");
        if (nodeName.Length == 0) return (false, $"unknown node for user \"{user.Name}\"");
        if (a.IsResourceRequest)
        {
            switch (a.ApiGroup, a.Resource)
            {
                case ("", "secrets"):
                    return ReadNamespacedObject(nodeName, a, UsesSecret);
                case ("", "configmaps"):
                    return ReadNamespacedObject(nodeName, a, UsesConfigMap);
                case ("", "serviceaccounts"):
                    return CreateToken(nodeName, a);
                case ("coordination.k8s.io", "leases"):
                    return Lease(nodeName, a);
            }
        }

        return (NodeRules.Any(rule => RbacAuthorizer.RuleAllows(a, rule)), "");
    }

    private (bool, string) ReadNamespacedObject(string nodeName, RequestAttributes a, Func<JsonObject, string, bool> uses)
    {
        if (!Read.Contains(a.Verb)) return (false, "can only read resources of this type");
        if (a.Subresource.Length > 0) return (false, "cannot read subresource");
        if (a.Namespace.Length == 0) return (false, "can only read namespaced object of this type");
        if (a.Name.Length == 0) return (false, "No Object name found");
        return PodsOnNode(nodeName, a.Namespace).Any(pod => uses(pod, a.Name)) ? (true, "") : NoRelationship(nodeName);
    }

    private (bool, string) CreateToken(string nodeName, RequestAttributes a)
    {
        if (a.Verb != "create" || a.Name.Length == 0) return (false, "can only create tokens for individual service accounts");
        if (a.Subresource != "token") return (false, "can only create token subresource of serviceaccount");
        return PodsOnNode(nodeName, a.Namespace).Any(pod => JsonUtil.Str(pod["spec"]?["serviceAccountName"]) == a.Name)
            ? (true, "")
            : NoRelationship(nodeName);
    }

    private static (bool, string) Lease(string nodeName, RequestAttributes a)
    {
        if (a.Verb is not ("get" or "create" or "update" or "patch" or "delete")) return (false, "can only get, create, update, patch, or delete a node lease");
        if (a.Namespace != "kube-node-lease") return (false, "can only access leases in the \"kube-node-lease\" system namespace");
        // The name of a create is not known here; NodeRestriction checks it.
        if (a.Verb != "create" && a.Name != nodeName) return (false, "can only access node lease with the same name as the requesting node");
        return (true, "");
    }

    private static (bool, string) NoRelationship(string nodeName) => (false, $"no relationship found between node '{nodeName}' and this object");

    private IEnumerable<JsonObject> PodsOnNode(string nodeName, string ns) =>
        store.FindResource("", "v1", "pods") is null
            ? []
            : store.List(KnownResources.Pods, ns).Where(p => JsonUtil.Str(p["spec"]?["nodeName"]) == nodeName);

    /// <summary>Secrets a Pod uses (pkg/api/v1/pod/util.go <c>VisitPodSecretNames</c>): image pull secrets, volumes, env.</summary>
    private static bool UsesSecret(JsonObject pod, string name)
    {
        var spec = pod["spec"] as JsonObject;
        if ((spec?["imagePullSecrets"] as JsonArray ?? []).OfType<JsonObject>().Any(s => JsonUtil.Str(s["name"]) == name)) return true;
        foreach (var volume in (spec?["volumes"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (JsonUtil.Str(volume["secret"]?["secretName"]) == name) return true;
            if ((volume["projected"]?["sources"] as JsonArray ?? []).OfType<JsonObject>().Any(s => JsonUtil.Str(s["secret"]?["name"]) == name)) return true;
        }
        return Containers(spec).Any(c =>
            (c["env"] as JsonArray ?? []).OfType<JsonObject>().Any(e => JsonUtil.Str(e["valueFrom"]?["secretKeyRef"]?["name"]) == name)
            || (c["envFrom"] as JsonArray ?? []).OfType<JsonObject>().Any(e => JsonUtil.Str(e["secretRef"]?["name"]) == name));
    }

    /// <summary>ConfigMaps a Pod uses (<c>VisitPodConfigmapNames</c>): volumes (projected ones too, e.g. kube-root-ca.crt), env.</summary>
    private static bool UsesConfigMap(JsonObject pod, string name)
    {
        var spec = pod["spec"] as JsonObject;
        foreach (var volume in (spec?["volumes"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (JsonUtil.Str(volume["configMap"]?["name"]) == name) return true;
            if ((volume["projected"]?["sources"] as JsonArray ?? []).OfType<JsonObject>().Any(s => JsonUtil.Str(s["configMap"]?["name"]) == name)) return true;
        }
        return Containers(spec).Any(c =>
            (c["env"] as JsonArray ?? []).OfType<JsonObject>().Any(e => JsonUtil.Str(e["valueFrom"]?["configMapKeyRef"]?["name"]) == name)
            || (c["envFrom"] as JsonArray ?? []).OfType<JsonObject>().Any(e => JsonUtil.Str(e["configMapRef"]?["name"]) == name));
    }

    private static IEnumerable<JsonObject> Containers(JsonObject? spec) =>
        new[] { "initContainers", "containers", "ephemeralContainers" }.SelectMany(list => (spec?[list] as JsonArray ?? []).OfType<JsonObject>());

    private static JsonObject Rule(string[] verbs, string group, params string[] resources) => new()
    {
        ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]),
        ["apiGroups"] = new JsonArray(group),
        ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)r)]),
    };
}
