using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>
/// Authentication and authorisation of every request when
/// <see cref="FakeKubeApiServerOptions.EnableAuthorization"/> is on, in kube-apiserver's order
/// (k8s.io/apiserver/pkg/server/config.go <c>DefaultBuildHandlerChain</c>: authentication, then
/// authorisation of the request's attributes), plus the second check of a server-side apply that
/// creates its object (handlers/patch.go).
/// </summary>
internal sealed class AccessControl
{
    private const string UserKey = "KubeApiFake.User";

    public AccessControl(ResourceStore store, ServiceAccountTokens serviceAccountTokens)
    {
        Authorizer = new RbacAuthorizer(store);
        Tokens = new TokenAuthenticator(serviceAccountTokens);
        BootstrapPolicy.Seed(store);
    }

    public TokenAuthenticator Tokens { get; }

    public RbacAuthorizer Authorizer { get; }

    /// <summary>The user <see cref="Admit"/> authenticated for this request, or null (access control off).</summary>
    public static KubeUser? UserOf(HttpContext ctx) => ctx.Items.TryGetValue(UserKey, out var user) ? user as KubeUser : null;

    /// <summary>
    /// Authenticates the bearer token and authorises the request's attributes. A missing or unknown
    /// token is 401 (as with <c>--anonymous-auth=false</c>; filters/authentication.go answers
    /// <c>apierrors.NewUnauthorized("Unauthorized")</c>); a denied request is 403 (filters/authorization.go).
    /// </summary>
    /// <param name="ctx">The request; the user is stored in its Items.</param>
    /// <param name="user">The authenticated user, or null when authentication failed.</param>
    /// <returns>Null when admitted, otherwise the failure to answer.</returns>
    public KubeApiException? Admit(HttpContext ctx, out KubeUser? user)
    {
        var request = ctx.Request;
        user = Tokens.Authenticate(request.Headers.Authorization.ToString());
        if (user is null) return new KubeApiException(401, "Unauthorized", "Unauthorized");
        ctx.Items[UserKey] = user;
        var attributes = RequestAttributes.From(request.Method, request.Path.Value ?? "/", request.QueryString.Value ?? "");
        var decision = Authorizer.Authorize(user, attributes);
        return decision.Allowed ? null : Forbidden(user, attributes, decision.Reason);
    }

    /// <summary>
    /// The second authorisation of a server-side apply whose object does not exist yet: as
    /// <c>create</c> on the same resource, subresource, namespace and name (patch.go
    /// <c>createAuthorizerAttributes</c>, checked by <c>withAuthorization</c> when the store creates).
    /// Throws 403 Forbidden when denied.
    /// </summary>
    public void AuthorizeCreateOnPatch(HttpContext ctx, ResourceType rt, string? ns, string name, string? subresource)
    {
        if (UserOf(ctx) is not { } user) return;
        var attributes = new RequestAttributes(true, "create", ctx.Request.Path.Value ?? "/", rt.Group, rt.Version, ns ?? "", rt.Plural, subresource ?? "", name);
        var decision = Authorizer.Authorize(user, attributes);
        if (decision.Allowed) return;

        // handlers/update.go withAuthorization: errors.NewForbidden(gr, name, fmt.Errorf("%v", reason)),
        // with the authorizer's reason only (RBAC gives none unless a role could not be resolved),
        // so this message does not carry the "User ... cannot create ..." sentence of the filter.
        throw ForbiddenError(rt.Group, rt.Plural, name, decision.Reason);
    }

    /// <summary>
    /// 403 as the authorisation filter writes it (handlers/responsewriters/errors.go
    /// <c>Forbidden</c> and <c>forbiddenMessage</c>).
    /// </summary>
    public static KubeApiException Forbidden(KubeUser user, RequestAttributes a, string reason)
    {
        string message;
        if (!a.IsResourceRequest)
        {
            message = $"User \"{user.Name}\" cannot {a.Verb} path \"{a.Path}\"";
        }
        else if (a.Namespace.Length > 0)
        {
            message = $"User \"{user.Name}\" cannot {a.Verb} resource \"{a.CombinedResource}\" in API group \"{a.ApiGroup}\" in the namespace \"{a.Namespace}\"";
        }
        else
        {
            message = $"User \"{user.Name}\" cannot {a.Verb} resource \"{a.CombinedResource}\" in API group \"{a.ApiGroup}\" at the cluster scope";
        }

        if (reason.Length > 0) message = $"{message}: {reason}";
        return ForbiddenError(a.ApiGroup, a.Resource, a.Name, message);
    }

    /// <summary>apimachinery's <c>errors.NewForbidden(groupResource, name, err)</c>.</summary>
    private static KubeApiException ForbiddenError(string group, string resource, string name, string why)
    {
        var qualified = group.Length == 0 ? resource : $"{resource}.{group}";
        var message = qualified.Length == 0 ? $"forbidden: {why}"
            : name.Length == 0 ? $"{qualified} is forbidden: {why}"
            : $"{qualified} \"{name}\" is forbidden: {why}";
        var details = new JsonObject();
        if (name.Length > 0) details["name"] = name;
        if (group.Length > 0) details["group"] = group;
        if (resource.Length > 0) details["kind"] = resource;
        return new KubeApiException(403, "Forbidden", message, details);
    }
}
