using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>The outcome of authorising one request.</summary>
/// <param name="Allowed">True when some rule (or the privileged group) allows it.</param>
/// <param name="Reason">
/// Why: for an allow, what allowed it; for a deny, the RBAC rule-resolution errors the real
/// authorizer reports (e.g. <c>RBAC: clusterrole.rbac.authorization.k8s.io "x" not found</c>), or
/// empty when there were none.
/// </param>
public sealed record AuthorizationDecision(bool Allowed, string Reason);

/// <summary>
/// kube-apiserver's authorisation chain as far as it matters to an operator: the privileged-group
/// authorizer (<c>system:masters</c> is allowed everything; pkg/kubeapiserver/authorizer/config.go,
/// <c>authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)</c>), then RBAC over the
/// Role, ClusterRole, RoleBinding and ClusterRoleBinding objects in the store, evaluated on every
/// request (no informer lag).
/// </summary>
/// <remarks>
/// Rule resolution follows plugin/pkg/auth/authorizer/rbac/rbac.go and
/// pkg/registry/rbac/validation/rule.go (<c>VisitRulesFor</c>, <c>appliesToUser</c>,
/// <c>GetRoleReferenceRules</c>): every ClusterRoleBinding, then the RoleBindings of the request's
/// namespace (a RoleBinding may reference a Role of its namespace or a ClusterRole, whose rules then
/// apply in that namespace only). Rule matching follows pkg/apis/rbac/v1/evaluation_helpers.go:
/// <c>*</c> matches every verb, group and resource; <c>*/status</c> matches the status subresource
/// of every resource, but <c>deployments/*</c> matches nothing; resourceNames restrict by name
/// (a list or watch without a <c>metadata.name</c> field selector has no name, so it is denied);
/// nonResourceURLs match exactly, as <c>*</c>, or by a trailing-<c>*</c> prefix. ClusterRoles
/// with an <c>aggregationRule</c> get the rules of the ClusterRoles their selectors match, as the
/// clusterrole-aggregation controller would have written them. Nodes are first judged by the
/// <see cref="NodeAuthorizer"/>. Not modelled: webhooks, ABAC, and RBAC's escalation checks on
/// writes of roles and bindings.
/// </remarks>
internal sealed class RbacAuthorizer(ResourceStore store)
{
    private const string RbacGroup = "rbac.authorization.k8s.io";

    private readonly NodeAuthorizer _nodes = new(store);

    /// <summary>
    /// The chain of <c>--authorization-mode=Node,RBAC</c> behind the privileged-group authorizer:
    /// the first allow wins, and a denial carries the reasons of every authorizer that gave one, one
    /// per line (k8s.io/apiserver/pkg/authorization/union/union.go).
    /// </summary>
    public AuthorizationDecision Authorize(KubeUser user, RequestAttributes request)
    {
        if (user.Groups.Contains(KubeUser.SystemMasters, StringComparer.Ordinal))
        {
            return new AuthorizationDecision(true, $"allowed by the privileged group {KubeUser.SystemMasters}");
        }

        var (nodeAllowed, nodeReason) = _nodes.Authorize(user, request);
        if (nodeAllowed) return new AuthorizationDecision(true, $"allowed by the Node authorizer to {user.Name}");
        var rbac = AuthorizeRbac(user, request);
        if (rbac.Allowed || nodeReason.Length == 0) return rbac;
        return rbac with { Reason = rbac.Reason.Length == 0 ? nodeReason : $"{nodeReason}\n{rbac.Reason}" };
    }

    private AuthorizationDecision AuthorizeRbac(KubeUser user, RequestAttributes request)
    {
        var errors = new List<string>();
        foreach (var binding in store.List(KnownResources.ClusterRoleBindings))
        {
            if (!AppliesTo(user, binding, "")) continue;
            if (Rules(binding, "", errors).FirstOrDefault(rule => RuleAllows(request, rule)) is not null)
            {
                return new AuthorizationDecision(true, $"RBAC: allowed by ClusterRoleBinding \"{Name(binding)}\" of {RoleRef(binding)} to {user.Name}");
            }
        }

        if (request.Namespace.Length > 0)
        {
            foreach (var binding in store.List(KnownResources.RoleBindings, request.Namespace))
            {
                if (!AppliesTo(user, binding, request.Namespace)) continue;
                if (Rules(binding, request.Namespace, errors).FirstOrDefault(rule => RuleAllows(request, rule)) is not null)
                {
                    return new AuthorizationDecision(true, $"RBAC: allowed by RoleBinding \"{Name(binding)}/{request.Namespace}\" of {RoleRef(binding)} to {user.Name}");
                }
            }
        }

        // utilerrors.NewAggregate(...).Error(): one message alone, several in brackets.
        var distinct = errors.Distinct(StringComparer.Ordinal).ToList();
        var reason = distinct.Count switch
        {
            0 => "",
            1 => "RBAC: " + distinct[0],
            _ => "RBAC: [" + string.Join(", ", distinct) + "]",
        };
        return new AuthorizationDecision(false, reason);
    }

    /// <summary><c>RuleAllows</c> of rbac.go with the matchers of evaluation_helpers.go.</summary>
    public static bool RuleAllows(RequestAttributes request, JsonObject rule)
    {
        var verbs = Strings(rule, "verbs");
        if (!verbs.Any(v => v == "*" || v == request.Verb)) return false;
        if (!request.IsResourceRequest)
        {
            return Strings(rule, "nonResourceURLs").Any(url =>
                url == "*" || url == request.Path || (url.EndsWith('*') && request.Path.StartsWith(url.TrimEnd('*'), StringComparison.Ordinal)));
        }

        return Strings(rule, "apiGroups").Any(g => g == "*" || g == request.ApiGroup)
               && ResourceMatches(Strings(rule, "resources"), request.CombinedResource, request.Subresource)
               && (Strings(rule, "resourceNames") is var names && (names.Count == 0 || names.Contains(request.Name)));
    }

    private static bool ResourceMatches(IReadOnlyList<string> ruleResources, string combined, string subresource)
    {
        foreach (var resource in ruleResources)
        {
            if (resource == "*" || resource == combined) return true;

            // Only the "*/subresource" form is a pattern; "deployments/*" is an exact name that matches nothing.
            if (subresource.Length > 0 && resource.Length == subresource.Length + 2 && resource.StartsWith("*/", StringComparison.Ordinal)
                && resource.EndsWith(subresource, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>appliesToUser</c> of rule.go over a binding's subjects.</summary>
    private static bool AppliesTo(KubeUser user, JsonObject binding, string bindingNamespace)
    {
        foreach (var subject in (binding["subjects"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = JsonUtil.Str(subject["name"]) ?? "";
            switch (JsonUtil.Str(subject["kind"]))
            {
                case "User" when user.Name == name:
                case "Group" when user.Groups.Contains(name, StringComparer.Ordinal):
                    return true;
                case "ServiceAccount":
                    // The subject's namespace defaults to the RoleBinding's own.
                    var ns = JsonUtil.Str(subject["namespace"]) is { Length: > 0 } given ? given : bindingNamespace;
                    if (ns.Length > 0 && user.Name == KubeUser.ServiceAccountUserName(ns, name)) return true;
                    break;
            }
        }

        return false;
    }

    /// <summary><c>GetRoleReferenceRules</c>: the rules of the role a binding references, or none with an error noted.</summary>
    private List<JsonObject> Rules(JsonObject binding, string bindingNamespace, List<string> errors)
    {
        var kind = JsonUtil.Str(binding["roleRef"]?["kind"]) ?? "";
        var name = JsonUtil.Str(binding["roleRef"]?["name"]) ?? "";
        switch (kind)
        {
            case "Role":
                if (store.Get(KnownResources.Roles, bindingNamespace, name) is { } role) return RulesOf(role);
                errors.Add($"role.{RbacGroup} \"{name}\" not found");
                return [];
            case "ClusterRole":
                if (store.Get(KnownResources.ClusterRoles, null, name) is not { } clusterRole)
                {
                    errors.Add($"clusterrole.{RbacGroup} \"{name}\" not found");
                    return [];
                }

                return clusterRole["aggregationRule"] is JsonObject aggregation ? AggregatedRules(name, aggregation) : RulesOf(clusterRole);
            default:
                errors.Add($"unsupported role reference kind: \"{kind}\"");
                return [];
        }
    }

    /// <summary>
    /// The rules the clusterrole-aggregation controller (pkg/controller/clusterroleaggregation)
    /// writes into an aggregated ClusterRole: those of every other ClusterRole matched by one of its
    /// <c>clusterRoleSelectors</c>.
    /// </summary>
    private List<JsonObject> AggregatedRules(string name, JsonObject aggregation)
    {
        var selectors = (aggregation["clusterRoleSelectors"] as JsonArray ?? []).OfType<JsonObject>().Select(LabelSelector.FromObject).ToList();
        return [.. store.List(KnownResources.ClusterRoles)
            .Where(r => Name(r) != name && selectors.Any(s => s.Matches(JsonUtil.Labels(r))))
            .SelectMany(RulesOf)];
    }

    private static List<JsonObject> RulesOf(JsonObject role) => [.. (role["rules"] as JsonArray ?? []).OfType<JsonObject>()];

    private static List<string> Strings(JsonObject obj, string field) =>
        [.. (obj[field] as JsonArray ?? []).Select(v => JsonUtil.Str(v) ?? "")];

    private static string Name(JsonObject obj) => JsonUtil.MetaString(obj, "name") ?? "";

    private static string RoleRef(JsonObject binding) =>
        $"{JsonUtil.Str(binding["roleRef"]?["kind"])} \"{JsonUtil.Str(binding["roleRef"]?["name"])}\"";
}

/// <summary>
/// The RBAC objects a freshly bootstrapped cluster has that matter here
/// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, <c>ClusterRoles()</c> and
/// <c>ClusterRoleBindings()</c>): <c>cluster-admin</c> bound to <c>system:masters</c>,
/// <c>system:discovery</c> (discovery and OpenAPI documents, version) bound to every authenticated
/// user, and <c>system:public-info-viewer</c> (health and version) bound to authenticated and
/// unauthenticated users.
/// </summary>
internal static class BootstrapPolicy
{
    public static void Seed(ResourceStore store)
    {
        ClusterRole(store, "cluster-admin",
            Rule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]),
            Rule(verbs: ["*"], nonResourceURLs: ["*"]));
        ClusterRole(store, "system:discovery",
            Rule(verbs: ["get"], nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"]));
        ClusterRole(store, "system:public-info-viewer",
            Rule(verbs: ["get"], nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"]));

        ClusterRoleBinding(store, "cluster-admin", "cluster-admin", KubeUser.SystemMasters);
        ClusterRoleBinding(store, "system:discovery", "system:discovery", KubeUser.AllAuthenticated);
        ClusterRoleBinding(store, "system:public-info-viewer", "system:public-info-viewer", KubeUser.AllAuthenticated, "system:unauthenticated");
    }

    private static JsonObject Metadata(string name) => new()
    {
        ["name"] = name,
        ["labels"] = new JsonObject { ["kubernetes.io/bootstrapping"] = "rbac-defaults" },
        ["annotations"] = new JsonObject { ["rbac.authorization.kubernetes.io/autoupdate"] = "true" },
    };

    private static JsonObject Rule(string[] verbs, string[]? apiGroups = null, string[]? resources = null, string[]? nonResourceURLs = null)
    {
        static JsonArray Array(string[] values) => [.. values.Select(v => (JsonNode)v)];
        var rule = new JsonObject { ["verbs"] = Array(verbs) };
        if (apiGroups is not null) rule["apiGroups"] = Array(apiGroups);
        if (resources is not null) rule["resources"] = Array(resources);
        if (nonResourceURLs is not null) rule["nonResourceURLs"] = Array(nonResourceURLs);
        return rule;
    }

    private static void ClusterRole(ResourceStore store, string name, params JsonObject[] rules) =>
        store.Put(KnownResources.ClusterRoles, new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "ClusterRole",
            ["metadata"] = Metadata(name),
            ["rules"] = new JsonArray([.. rules]),
        });

    private static void ClusterRoleBinding(ResourceStore store, string name, string role, params string[] groups) =>
        store.Put(KnownResources.ClusterRoleBindings, new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "ClusterRoleBinding",
            ["metadata"] = Metadata(name),
            ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = role },
            ["subjects"] = new JsonArray([.. groups.Select(g => (JsonNode)new JsonObject
            {
                ["apiGroup"] = "rbac.authorization.k8s.io",
                ["kind"] = "Group",
                ["name"] = g,
            })]),
        });
}
