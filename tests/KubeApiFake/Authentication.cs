using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace KubeApiFake;

/// <summary>
/// An authenticated identity, as kube-apiserver's authenticators produce it (<c>user.Info</c>):
/// a user name and the groups it belongs to. RBAC matches bindings' User subjects against
/// <see cref="Name"/>, Group subjects against <see cref="Groups"/>, ServiceAccount subjects against
/// the <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c> form of <see cref="Name"/>.
/// </summary>
/// <param name="Name">User name, e.g. <c>kubernetes-admin</c> or <c>system:serviceaccount:ns:sa</c>.</param>
/// <param name="Groups">Groups, <c>system:authenticated</c> included (the real server adds it to every authenticated user).</param>
public sealed record KubeUser(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>Group every authenticated user is in (<c>user.AllAuthenticated</c>).</summary>
    public const string AllAuthenticated = "system:authenticated";

    /// <summary>Group of every node's identity (<c>user.NodesGroup</c>).</summary>
    public const string NodesGroup = "system:nodes";

    /// <summary>
    /// Further facts the authenticator vouches for (<c>user.Info.GetExtra()</c>), e.g. the Pod a bound
    /// ServiceAccount token names under <c>authentication.kubernetes.io/pod-name</c>; null when none.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Extra { get; init; }

    /// <summary>
    /// A node's identity as a kubelet's client certificate carries it (and the Node authorizer reads
    /// it, pkg/auth/nodeidentifier/default.go): <c>system:node:&lt;name&gt;</c> in <c>system:nodes</c>.
    /// </summary>
    /// <param name="nodeName">The Node's name.</param>
    /// <returns>The identity.</returns>
    public static KubeUser Node(string nodeName) => new($"system:node:{nodeName}", [NodesGroup, AllAuthenticated]);

    /// <summary>
    /// The node name of a node identity (<c>NodeIdentity</c> of pkg/auth/nodeidentifier/default.go):
    /// the user must be named <c>system:node:&lt;name&gt;</c> and be in <c>system:nodes</c>. Null for
    /// other users; empty for <c>system:node:</c> itself (a node the authorizer cannot identify).
    /// </summary>
    public string? NodeName =>
        Name.StartsWith("system:node:", StringComparison.Ordinal) && Groups.Contains(NodesGroup, StringComparer.Ordinal)
            ? Name["system:node:".Length..]
            : null;

    /// <summary>Group that bypasses authorisation (<c>user.SystemPrivilegedGroup</c>) and is bound to <c>cluster-admin</c>.</summary>
    public const string SystemMasters = "system:masters";

    /// <summary>The cluster administrator of a kubeadm cluster's admin.conf: <c>kubernetes-admin</c> in <c>system:masters</c>.</summary>
    public static KubeUser Admin { get; } = new("kubernetes-admin", [SystemMasters, AllAuthenticated]);

    /// <summary>
    /// A ServiceAccount's identity as the service-account token authenticator returns it
    /// (k8s.io/apiserver/pkg/authentication/serviceaccount/util.go: <c>MakeUsername</c>,
    /// <c>MakeGroupNames</c>): <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c> in
    /// <c>system:serviceaccounts</c>, <c>system:serviceaccounts:&lt;ns&gt;</c> and <c>system:authenticated</c>.
    /// </summary>
    /// <param name="namespace">The ServiceAccount's namespace.</param>
    /// <param name="name">The ServiceAccount's name.</param>
    /// <returns>The identity.</returns>
    public static KubeUser ServiceAccount(string @namespace, string name) =>
        new(ServiceAccountUserName(@namespace, name), ["system:serviceaccounts", $"system:serviceaccounts:{@namespace}", AllAuthenticated]);

    /// <summary>The user name of a ServiceAccount: <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c>.</summary>
    /// <param name="namespace">The ServiceAccount's namespace.</param>
    /// <param name="name">The ServiceAccount's name.</param>
    /// <returns>The user name.</returns>
    public static string ServiceAccountUserName(string @namespace, string name) => $"system:serviceaccount:{@namespace}:{name}";

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", Groups)}]";
}

/// <summary>
/// Bearer-token authentication, kube-apiserver's token authenticators in its order
/// (pkg/kubeapiserver/authenticator/config.go: the static token file first, then ServiceAccount
/// tokens): the tokens issued by <see cref="Issue"/> are random opaque strings, each mapped to one
/// <see cref="KubeUser"/>, like the lines of a <c>--token-auth-file</c>; any other token is tried as a
/// ServiceAccount JWT of this server (<see cref="ServiceAccountTokens"/>). Thread-safe.
/// </summary>
internal sealed class TokenAuthenticator
{
    private readonly ConcurrentDictionary<string, KubeUser> _tokens = new(StringComparer.Ordinal);
    private readonly ServiceAccountTokens _serviceAccountTokens;

    public TokenAuthenticator(ServiceAccountTokens serviceAccountTokens)
    {
        _serviceAccountTokens = serviceAccountTokens;
        AdminToken = Issue(KubeUser.Admin);
    }

    /// <summary>The token of <see cref="KubeUser.Admin"/>.</summary>
    public string AdminToken { get; }

    public string Issue(KubeUser user)
    {
        var token = RandomNumberGenerator.GetHexString(32, lowercase: true);
        _tokens[token] = user;
        return token;
    }

    public bool Revoke(string token) => _tokens.TryRemove(token, out _);

    /// <summary>
    /// The user of an <c>Authorization</c> header value, or null for a missing, malformed or unknown
    /// token. Like k8s.io/apiserver/pkg/authentication/request/bearertoken/bearertoken.go: the scheme
    /// is matched case-insensitively and the token is the single field after it.
    /// </summary>
    public KubeUser? Authenticate(string? authorizationHeader)
    {
        if (string.IsNullOrWhiteSpace(authorizationHeader)) return null;
        var parts = authorizationHeader.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !string.Equals(parts[0], "bearer", StringComparison.OrdinalIgnoreCase)) return null;
        if (_tokens.TryGetValue(parts[1], out var user)) return user;
        return _serviceAccountTokens.Authenticate(parts[1], out _);
    }
}
