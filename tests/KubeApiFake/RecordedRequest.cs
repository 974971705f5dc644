using System.Web;

namespace KubeApiFake;

/// <summary>One HTTP request the fake answered, as seen by tests.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path, e.g. <c>/apis/apps/v1/namespaces/ns/deployments/x</c>.</param>
/// <param name="Query">Raw query string without the leading <c>?</c> (empty when none).</param>
/// <param name="ContentType">Request Content-Type header, or null.</param>
/// <param name="StatusCode">Response status code (0 while the request is still being decided, e.g. in a fault matcher).</param>
/// <param name="Timestamp">When the request arrived.</param>
public sealed record RecordedRequest(string Method, string Path, string Query, string? ContentType, int StatusCode, DateTimeOffset Timestamp)
{
    /// <summary>Request body (writes only), or null.</summary>
    public string? Body { get; init; }

    /// <summary>User-Agent header, or null.</summary>
    public string? UserAgent { get; init; }

    /// <summary>True for watch requests (<c>?watch=true</c> or a <c>/watch/</c> path).</summary>
    public bool IsWatch { get; init; }

    /// <summary>Kubernetes verb when the path named a resource: get, list, watch, create, update, patch, delete, deletecollection; null otherwise.</summary>
    public string? Verb { get; init; }

    /// <summary>
    /// The authenticated user when <see cref="FakeKubeApiServerOptions.EnableAuthorization"/> is on
    /// (null when authentication failed, or when access control is off).
    /// </summary>
    public KubeUser? User { get; init; }

    /// <summary>
    /// Every verb a real API server authorises this request as: <see cref="Verb"/>, plus
    /// <c>create</c> for a PATCH answered 201, i.e. a server-side apply that created its object
    /// (k8s.io/apiserver/pkg/endpoints/handlers/patch.go checks <c>create</c> too before creating).
    /// Empty when the path names no resource.
    /// </summary>
    public IReadOnlyList<string> Verbs =>
        Verb is null ? [] : Verb == "patch" && StatusCode == 201 ? ["patch", "create"] : [Verb];

    /// <summary>True for requests that change state (not GET, not watch).</summary>
    public bool IsWrite => !IsWatch && !string.Equals(Method, "GET", StringComparison.OrdinalIgnoreCase)
                                     && !string.Equals(Method, "HEAD", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first value of a query parameter, or null.</summary>
    public string? QueryParameter(string name) => HttpUtility.ParseQueryString(Query)[name];

    /// <inheritdoc />
    public override string ToString() =>
        $"{Method} {Path}{(Query.Length > 0 ? "?" + Query : "")} -> {StatusCode}";
}
