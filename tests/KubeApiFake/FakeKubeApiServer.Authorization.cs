namespace KubeApiFake;

/// <summary>Authentication and authorisation controls (see <see cref="FakeKubeApiServerOptions.EnableAuthorization"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    internal AccessControl? AccessControl { get; }

    /// <summary>Signs and authenticates ServiceAccount tokens (TokenRequest); made whether or not authorisation is on.</summary>
    internal ServiceAccountTokens ServiceAccountTokens { get; }

    /// <summary>
    /// The bearer token of <see cref="KubeUser.Admin"/> (<c>kubernetes-admin</c> in
    /// <c>system:masters</c>, which bypasses RBAC), used by <see cref="CreateClient()"/>,
    /// <see cref="KubeconfigYaml(string)"/> and <see cref="ApplyAsync"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Authorisation is off.</exception>
    public string AdminToken => RequireAccessControl().Tokens.AdminToken;

    /// <summary>
    /// A token that authenticates as the ServiceAccount <paramref name="name"/> of
    /// <paramref name="namespace"/> (<c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c>, groups
    /// <c>system:serviceaccounts</c>, <c>system:serviceaccounts:&lt;ns&gt;</c>,
    /// <c>system:authenticated</c>). The ServiceAccount object need not exist.
    /// </summary>
    /// <param name="namespace">The ServiceAccount's namespace.</param>
    /// <param name="name">The ServiceAccount's name.</param>
    /// <returns>The token, for <c>Authorization: Bearer</c> or <see cref="KubeconfigYaml(string, string)"/>.</returns>
    /// <exception cref="InvalidOperationException">Authorisation is off.</exception>
    public string IssueServiceAccountToken(string @namespace, string name) =>
        RequireAccessControl().Tokens.Issue(KubeUser.ServiceAccount(@namespace, name));

    /// <summary>
    /// A token that authenticates as user <paramref name="name"/> in <paramref name="groups"/> (plus
    /// <c>system:authenticated</c>), as a client certificate or OIDC token would.
    /// </summary>
    /// <param name="name">User name.</param>
    /// <param name="groups">Groups besides <c>system:authenticated</c>.</param>
    /// <returns>The token.</returns>
    /// <exception cref="InvalidOperationException">Authorisation is off.</exception>
    public string IssueToken(string name, params string[] groups) =>
        RequireAccessControl().Tokens.Issue(new KubeUser(name, [.. groups.Where(g => g != KubeUser.AllAuthenticated), KubeUser.AllAuthenticated]));

    /// <summary>Makes a token unknown: its next request is 401 Unauthorized.</summary>
    /// <param name="token">A token issued by this server.</param>
    /// <returns>True when the token was known.</returns>
    public bool RevokeToken(string token) => AccessControl?.Tokens.Revoke(token) ?? false;

    /// <summary>
    /// How the server would decide a request by <paramref name="user"/> now, without making it
    /// (like a SubjectAccessReview).
    /// </summary>
    /// <param name="user">Who asks.</param>
    /// <param name="request">What is asked, e.g. <c>RequestAttributes.From("PATCH", path, "")</c>.</param>
    /// <returns>The decision.</returns>
    /// <exception cref="InvalidOperationException">Authorisation is off.</exception>
    public AuthorizationDecision Authorize(KubeUser user, RequestAttributes request) =>
        RequireAccessControl().Authorizer.Authorize(user, request);

    /// <summary>An <see cref="HttpClient"/> whose BaseAddress is this server and that sends <paramref name="token"/> as its bearer token (none when null).</summary>
    /// <param name="token">The bearer token, or null.</param>
    /// <returns>The client.</returns>
    public HttpClient CreateClient(string? token)
    {
        var client = new HttpClient(CreateHandler(), disposeHandler: true) { BaseAddress = BaseAddress };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private AccessControl RequireAccessControl() =>
        AccessControl ?? throw new InvalidOperationException($"authorisation is off: start the server with {nameof(FakeKubeApiServerOptions)}.{nameof(FakeKubeApiServerOptions.EnableAuthorization)} = true");
}
