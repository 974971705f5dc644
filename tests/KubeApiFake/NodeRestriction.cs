using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The NodeRestriction admission plugin (plugin/pkg/admission/noderestriction/admission.go,
/// <c>Admit</c>) for the writes a kubelet makes, checked once the Node authorizer let them through:
/// a node may create only mirror Pods bound to itself and delete only Pods bound to itself
/// (<c>admitPod</c>), write the status only of Pods bound to itself (<c>admitPodStatus</c>), create
/// and change only its own Node (<c>admitNode</c>) and Lease (<c>admitLease</c>), and ask for a
/// ServiceAccount token only when it is bound to a Pod of its own, named with its UID
/// (<c>admitServiceAccount</c>), and evict only Pods bound to itself (<c>admitPodEviction</c>). Refusals are 403 as <c>admission.NewForbidden</c> words them:
/// <c>pods "x" is forbidden: node "n" can only update pod status for pods with spec.nodeName set to itself</c>.
/// Not modelled: the label restrictions on Nodes and the ResourceClaim and CSINode rules.
/// </summary>
internal static class NodeRestriction
{
    private const string MirrorPodAnnotation = "kubernetes.io/config.mirror";

    /// <summary>Throws 403 Forbidden when node <paramref name="user"/> may not make this write; does nothing for other users and reads.</summary>
    /// <param name="store">The objects as they are now (the admission plugin's old object).</param>
    /// <param name="user">Who asks.</param>
    /// <param name="a">The request's attributes.</param>
    /// <param name="body">The request body (the new object of a create), or null.</param>
    public static void Admit(ResourceStore store, KubeUser user, RequestAttributes a, string? body)
    {
        if (user.NodeName is not { Length: > 0 } node || !a.IsResourceRequest) return;
        if (a.Verb is not ("create" or "update" or "patch" or "delete")) return;
        var name = a.Name.Length > 0 ? a.Name : NameIn(body);
        switch (a.ApiGroup, a.Resource, a.Subresource)
        {
            case ("", "pods", ""):
                if (a.Verb == "create")
                {
                    var pod = Parse(body);
                    if (pod?["metadata"]?["annotations"]?[MirrorPodAnnotation] is null)
                    {
                        throw Forbidden("pods", name, $"pod does not have \"{MirrorPodAnnotation}\" annotation, node \"{node}\" can only create mirror pods");
                    }
                    if (JsonUtil.Str(pod["spec"]?["nodeName"]) != node)
                    {
                        throw Forbidden("pods", name, $"node \"{node}\" can only create pods with spec.nodeName set to itself");
                    }
                }
                else if (a.Verb == "delete" && NodeOf(store, KnownResources.Pods, a.Namespace, name) is { } bound && bound != node)
                {
                    throw Forbidden("pods", name, $"node \"{node}\" can only delete pods with spec.nodeName set to itself");
                }
                break;
            case ("", "pods", "eviction") when a.Verb == "create":
                // admitPodEviction: the Pod must exist (404) and be bound to this node.
                var evicted = store.Get(KnownResources.Pods, a.Namespace, name)
                    ?? throw new KubeApiException(404, "NotFound", $"pods \"{name}\" not found", new JsonObject { ["name"] = name, ["kind"] = "pods" });
                if (JsonUtil.Str(evicted["spec"]?["nodeName"]) != node)
                {
                    throw Forbidden("pods", name, $"node {node} can only evict pods with spec.nodeName set to itself");
                }
                break;
            case ("", "pods", "status"):
                if (a.Verb is "update" or "patch" && NodeOf(store, KnownResources.Pods, a.Namespace, name) is { } owner && owner != node)
                {
                    throw Forbidden("pods", name, $"node \"{node}\" can only update pod status for pods with spec.nodeName set to itself");
                }
                break;
            case ("", "nodes", "" or "status"):
                if (a.Verb != "delete" && name != node)
                {
                    throw Forbidden("nodes", name, $"node \"{node}\" is not allowed to modify node \"{name}\"");
                }
                break;
            case ("coordination.k8s.io", "leases", ""):
                if (a.Namespace == "kube-node-lease" && name != node)
                {
                    throw Forbidden("leases.coordination.k8s.io", name, "can only access node lease with the same name as the requesting node");
                }
                break;
            case ("", "serviceaccounts", "token") when a.Verb == "create":
                AdmitTokenRequest(store, node, a, Parse(body));
                break;
        }
    }

    private static void AdmitTokenRequest(ResourceStore store, string node, RequestAttributes a, JsonObject? request)
    {
        var reference = request?["spec"]?["boundObjectRef"] as JsonObject;
        if (reference is null || JsonUtil.Str(reference["apiVersion"]) != "v1" || JsonUtil.Str(reference["kind"]) != "Pod"
            || string.IsNullOrEmpty(JsonUtil.Str(reference["name"])))
        {
            throw Forbidden("serviceaccounts", a.Name, "node requested token not bound to a pod");
        }
        var uid = JsonUtil.Str(reference["uid"]);
        if (string.IsNullOrEmpty(uid)) throw Forbidden("serviceaccounts", a.Name, "node requested token with a pod binding without a uid");
        var podName = JsonUtil.Str(reference["name"])!;
        var pod = store.FindResource("", "v1", "pods") is null ? null : store.Get(KnownResources.Pods, a.Namespace, podName);
        if (pod is null)
        {
            throw new KubeApiException(404, "NotFound", $"pods \"{podName}\" not found", new JsonObject { ["name"] = podName, ["kind"] = "pods" });
        }
        if (JsonUtil.MetaString(pod, "uid") != uid)
        {
            throw Forbidden("serviceaccounts", a.Name,
                $"the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated");
        }
        if (JsonUtil.Str(pod["spec"]?["nodeName"]) != node)
        {
            throw Forbidden("serviceaccounts", a.Name, "node requested token bound to a pod scheduled on a different node");
        }
    }

    private static string? NodeOf(ResourceStore store, GroupVersionResource gvr, string ns, string name) =>
        store.FindResource(gvr.Group, gvr.Version, gvr.Resource) is null ? null
        : store.Get(gvr, ns, name) is { } obj ? JsonUtil.Str(obj["spec"]?["nodeName"]) ?? "" : null;

    private static JsonObject? Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string NameIn(string? body)
    {
        var meta = Parse(body)?["metadata"];
        return JsonUtil.Str(meta?["name"]) ?? JsonUtil.Str(meta?["generateName"]) ?? "";
    }

    /// <summary><c>admission.NewForbidden</c>: the resource without its subresource, the object's name.</summary>
    private static KubeApiException Forbidden(string groupResource, string name, string why)
    {
        var message = name.Length == 0 ? $"{groupResource} is forbidden: {why}" : $"{groupResource} \"{name}\" is forbidden: {why}";
        var dot = groupResource.IndexOf('.', StringComparison.Ordinal);
        var details = new JsonObject { ["name"] = name };
        if (dot > 0) details["group"] = groupResource[(dot + 1)..];
        details["kind"] = dot > 0 ? groupResource[..dot] : groupResource;
        return new KubeApiException(403, "Forbidden", message, details);
    }
}
