using System.Web;

namespace KubeApiFake;

/// <summary>
/// What a request asks to do, in the terms authorisation uses (<c>authorizer.Attributes</c>): a
/// resource request (verb, API group, version, namespace, resource, subresource, name) or a
/// non-resource request (verb = lower-cased HTTP method, path).
/// </summary>
/// <param name="IsResourceRequest">True for <c>/api/{version}/...</c> and <c>/apis/{group}/{version}/...</c> paths that name a resource.</param>
/// <param name="Verb">get, list, watch, create, update, patch, delete, deletecollection (resource requests); the lower-cased HTTP method otherwise.</param>
/// <param name="Path">The URL path.</param>
/// <param name="ApiGroup">API group; empty for core and for non-resource requests.</param>
/// <param name="ApiVersion">API version; empty for non-resource requests.</param>
/// <param name="Namespace">Namespace; empty for cluster-scoped and all-namespaces requests.</param>
/// <param name="Resource">Plural resource, e.g. <c>deployments</c>; empty for non-resource requests.</param>
/// <param name="Subresource">Subresource, e.g. <c>status</c>; empty when none.</param>
/// <param name="Name">Object name; empty when the request names none (list, watch and create without a <c>metadata.name</c> field selector).</param>
public sealed record RequestAttributes(
    bool IsResourceRequest,
    string Verb,
    string Path,
    string ApiGroup = "",
    string ApiVersion = "",
    string Namespace = "",
    string Resource = "",
    string Subresource = "",
    string Name = "")
{
    // Mirrors RequestInfoFactory.NewRequestInfo in
    // k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, with kube-apiserver's prefixes
    // (APIPrefixes {"api", "apis"}, GrouplessAPIPrefixes {"api"}).
    private static readonly HashSet<string> SpecialVerbs = new(StringComparer.Ordinal) { "proxy", "watch" };
    private static readonly HashSet<string> SpecialVerbsNoSubresources = new(StringComparer.Ordinal) { "proxy" };
    private static readonly HashSet<string> NamespaceSubresources = new(StringComparer.Ordinal) { "status", "finalize" };

    /// <summary>
    /// Parses a request exactly as kube-apiserver's RequestInfoFactory does: special verb paths
    /// (<c>/watch/</c>, <c>/proxy/</c>), namespaced forms, subresources; a GET without a name is
    /// <c>list</c>, or <c>watch</c> when the <c>watch</c> query parameter is anything but
    /// <c>false</c>/<c>0</c>; a <c>metadata.name</c> exact-match field selector names the object of a
    /// list or watch; a DELETE without a name is <c>deletecollection</c>. A GET that names an object
    /// stays <c>get</c> even with <c>?watch=true</c>.
    /// </summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="path">URL path, e.g. <c>/apis/apps/v1/namespaces/ns/deployments/x</c>.</param>
    /// <param name="query">Raw query string, with or without the leading <c>?</c>.</param>
    /// <returns>The attributes.</returns>
    public static RequestAttributes From(string method, string path, string query)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        var verb = method.ToLowerInvariant();
        var nonResource = new RequestAttributes(false, verb, path);
        var parts = path.Trim('/').Split('/', StringSplitOptions.None);
        if (path.Trim('/').Length == 0 || parts.Length < 3 || parts[0] is not ("api" or "apis"))
        {
            return nonResource;
        }

        var rest = parts.AsSpan(1);
        var group = "";
        if (parts[0] == "apis")
        {
            // One part (the prefix) is consumed: "do we have four parts?"
            if (rest.Length < 3) return nonResource;
            group = rest[0];
            rest = rest[1..];
        }

        var version = rest[0];
        rest = rest[1..];
        if (SpecialVerbs.Contains(rest[0]))
        {
            if (rest.Length < 2)
            {
                // The real factory answers an error here, which the filter turns into a 500; no
                // such path is served here, so authorise it as the resource-less request it is.
                return new RequestAttributes(true, rest[0], path, group, version);
            }

            verb = rest[0];
            rest = rest[1..];
        }
        else
        {
            verb = method.ToUpperInvariant() switch
            {
                "POST" => "create",
                "GET" or "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            };
        }

        var ns = "";
        if (rest[0] == "namespaces")
        {
            if (rest.Length > 1)
            {
                ns = rest[1];

                // A step after the namespace's name that is not a namespace subresource is a
                // namespaced resource in its own right.
                if (rest.Length > 2 && !NamespaceSubresources.Contains(rest[2]))
                {
                    rest = rest[2..];
                }
            }
        }

        string resource = "", name = "", subresource = "";
        if (rest.Length >= 3 && !SpecialVerbsNoSubresources.Contains(verb)) subresource = rest[2];
        if (rest.Length >= 2) name = rest[1];
        if (rest.Length >= 1) resource = rest[0];

        if (name.Length == 0 && verb == "get")
        {
            var values = HttpUtility.ParseQueryString(query.TrimStart('?'));
            var watch = values.GetValues("watch")?[0];
            verb = watch is null || watch.Equals("false", StringComparison.OrdinalIgnoreCase) || watch == "0" ? "list" : "watch";
            if (ExactNameOf(values.GetValues("fieldSelector")?[0]) is { } selected) name = selected;
        }

        if (name.Length == 0 && verb == "delete") verb = "deletecollection";
        return new RequestAttributes(true, verb, path, group, version, ns, resource, subresource, name);
    }

    /// <summary>
    /// The value a field selector requires <c>metadata.name</c> to equal (<c>RequiresExactMatch</c>),
    /// if it is a valid path segment name (<c>path.IsValidPathSegmentName</c>); null otherwise.
    /// </summary>
    private static string? ExactNameOf(string? selector)
    {
        if (string.IsNullOrEmpty(selector)) return null;
        foreach (var term in selector.Split(','))
        {
            if (term.Contains("!=", StringComparison.Ordinal)) continue;
            var eq = term.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 || term[..eq].Trim() != "metadata.name") continue;
            var value = term[(eq + 1)..].TrimStart('=').Trim();
            return value.Length == 0 || value is "." or ".." || value.Contains('/', StringComparison.Ordinal) || value.Contains('%', StringComparison.Ordinal)
                ? null
                : value;
        }

        return null;
    }

    /// <summary>The resource with its subresource, as RBAC rules name it: <c>deployments/status</c>.</summary>
    public string CombinedResource => Subresource.Length == 0 ? Resource : $"{Resource}/{Subresource}";
}
