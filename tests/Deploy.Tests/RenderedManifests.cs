using System.Text.Json.Nodes;

namespace UserApiOperator.Deploy.Tests;

/// <summary>One permission: a verb on a resource (<c>resource</c> or <c>resource/subresource</c>) of an API group (<c>""</c> for core).</summary>
/// <param name="Group">API group; empty for the core group.</param>
/// <param name="Resource">Plural resource, with <c>/subresource</c> when it is one.</param>
/// <param name="Verb">Verb as RBAC names it: get, list, watch, create, update, patch, delete.</param>
public sealed record RbacGrant(string Group, string Resource, string Verb)
{
    /// <inheritdoc/>
    public override string ToString() => $"{(Group.Length == 0 ? "core" : Group)} {Resource} {Verb}";
}

/// <summary>
/// The objects <c>kubectl apply -k config/default</c> installs, rendered once per test run with
/// <c>kubectl kustomize config/default</c>, and what their RBAC lets the operator do.
/// </summary>
/// <remarks>
/// Reusable by other tests (for example, a test of the live operator that proves every request it
/// makes is granted): <see cref="Objects"/> and <see cref="Grants"/>.
/// </remarks>
public static class RenderedManifests
{
    /// <summary>The kustomization users apply.</summary>
    public const string Kustomization = "config/default";

    private static readonly Lazy<string> RenderedYaml = new(Render, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<IReadOnlyList<JsonObject>> Parsed = new(() => ManifestYaml.ParseStream(RenderedYaml.Value), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The output of <c>kubectl kustomize config/default</c>.</summary>
    /// <exception cref="InvalidOperationException">kubectl is missing or the kustomization does not render.</exception>
    public static string Yaml => RenderedYaml.Value;

    /// <summary>Every rendered object, in output order (fresh copies: callers may change them).</summary>
    /// <returns>One JSON object per YAML document.</returns>
    public static IReadOnlyList<JsonObject> Objects() => [.. Parsed.Value.Select(o => o.DeepClone().AsObject())];

    /// <summary>The rendered objects of one kind.</summary>
    /// <param name="kind">For example <c>Deployment</c>.</param>
    /// <returns>Fresh copies.</returns>
    public static IReadOnlyList<JsonObject> OfKind(string kind) => [.. Objects().Where(o => Manifest.Kind(o) == kind)];

    /// <summary>The one rendered object of a kind.</summary>
    /// <param name="kind">For example <c>Deployment</c>.</param>
    /// <returns>A fresh copy.</returns>
    /// <exception cref="InvalidOperationException">Not exactly one object of that kind.</exception>
    public static JsonObject Single(string kind)
    {
        var all = OfKind(kind);
        return all.Count == 1 ? all[0] : throw new InvalidOperationException($"{Kustomization} renders {all.Count} objects of kind {kind}, expected 1");
    }

    /// <summary>The ServiceAccount the operator's Deployment runs as.</summary>
    /// <returns>Its namespace and name.</returns>
    public static (string Namespace, string Name) OperatorServiceAccount() => Rbac.ServiceAccountOf(Single("Deployment"));

    /// <summary>
    /// The namespace leader election uses when the operator runs from these manifests: its Pod's own
    /// (the Deployment's), which the downward API passes as POD_NAMESPACE, the default of
    /// <c>--leader-election-namespace</c>.
    /// </summary>
    /// <returns>The namespace.</returns>
    public static string LeaderElectionNamespace() => Manifest.Namespace(Single("Deployment"));

    /// <summary>
    /// What the operator may do in every namespace: the rules of the ClusterRoles bound to its
    /// ServiceAccount by ClusterRoleBindings.
    /// </summary>
    /// <returns>The grants, one per (group, resource, verb).</returns>
    public static IReadOnlySet<RbacGrant> ClusterGrants() => Rbac.ClusterWide(Parsed.Value, OperatorServiceAccount());

    /// <summary>
    /// What RoleBindings in the leader-election namespace add for the operator's ServiceAccount
    /// (leader election: the Lease and its Events).
    /// </summary>
    /// <returns>The grants, one per (group, resource, verb).</returns>
    public static IReadOnlySet<RbacGrant> LeaderElectionGrants() => Rbac.InNamespace(Parsed.Value, OperatorServiceAccount(), LeaderElectionNamespace());

    /// <summary>
    /// Whether the rendered RBAC allows the operator's ServiceAccount a request, evaluated like the
    /// API server's RBAC authorizer (bindings to this ServiceAccount only; wildcards match; rules
    /// limited by resourceNames do not count as a grant).
    /// </summary>
    /// <param name="group">API group; empty for core.</param>
    /// <param name="resource">Plural resource, <c>resource/subresource</c> for a subresource (<c>userapis/status</c>).</param>
    /// <param name="verb">get, list, watch, create, update, patch (server-side apply too), delete.</param>
    /// <param name="leaderElection">
    /// False: the request is in any namespace (only cluster-wide grants count). True: the request is
    /// in the leader-election namespace, where the leader-election Role's grants add to those.
    /// </param>
    /// <returns>True when some bound rule allows it.</returns>
    public static bool Grants(string group, string resource, string verb, bool leaderElection = false) =>
        Rbac.Allows(ClusterGrants(), group, resource, verb)
        || (leaderElection && Rbac.Allows(LeaderElectionGrants(), group, resource, verb));

    private static string Render()
    {
        var info = ProcessRunner.StartInfo("kubectl", ["kustomize", Kustomization], Repository.Root);
        ProcessResult result;
        try
        {
            result = ProcessRunner.RunAsync(info, TimeSpan.FromSeconds(120)).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"kubectl is needed to render {Kustomization} (`kubectl kustomize` works offline): {e.Message}", e);
        }

        return result.ExitCode == 0 && result.Output.Length > 0
            ? result.Output
            : throw new InvalidOperationException($"`kubectl kustomize {Kustomization}` failed: {result.Transcript}");
    }
}

/// <summary>Reading fields of Kubernetes objects held as JSON.</summary>
public static class Manifest
{
    /// <summary>The node at a path of property names and array indexes, or null when absent.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">Names (objects) and indexes (arrays).</param>
    /// <returns>The node, or null.</returns>
    public static JsonNode? At(JsonNode? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (step, node) switch
            {
                (string name, JsonObject obj) => obj[name],
                (int index, JsonArray array) => index < array.Count ? array[index] : null,
                _ => null,
            };
        }

        return node;
    }

    /// <summary>A string at a path, or null when absent or not a string.</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">Names and indexes.</param>
    /// <returns>The string, or null.</returns>
    public static string? Str(JsonNode? node, params object[] path) =>
        At(node, path) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The strings of an array at a path (empty when absent).</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">Names and indexes.</param>
    /// <returns>The strings; non-string items appear as their JSON text.</returns>
    public static IReadOnlyList<string> Strings(JsonNode? node, params object[] path) =>
        At(node, path) is JsonArray array
            ? [.. array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) ? s : item?.ToJsonString() ?? "null")]
            : [];

    /// <summary>The objects of an array at a path (empty when absent).</summary>
    /// <param name="node">Where to start.</param>
    /// <param name="path">Names and indexes.</param>
    /// <returns>The items that are objects.</returns>
    public static IReadOnlyList<JsonObject> Items(JsonNode? node, params object[] path) =>
        At(node, path) is JsonArray array ? [.. array.OfType<JsonObject>()] : [];

    /// <summary><c>kind</c>.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>The kind, or empty.</returns>
    public static string Kind(JsonNode obj) => Str(obj, "kind") ?? "";

    /// <summary><c>metadata.name</c>.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>The name, or empty.</returns>
    public static string Name(JsonNode obj) => Str(obj, "metadata", "name") ?? "";

    /// <summary><c>metadata.namespace</c>.</summary>
    /// <param name="obj">The object.</param>
    /// <returns>The namespace, or empty.</returns>
    public static string Namespace(JsonNode obj) => Str(obj, "metadata", "namespace") ?? "";
}

/// <summary>RBAC evaluation over a set of Role, ClusterRole, RoleBinding and ClusterRoleBinding objects.</summary>
public static class Rbac
{
    /// <summary>The ServiceAccount a Deployment's Pods run as (<c>default</c> when unset).</summary>
    /// <param name="deployment">The Deployment.</param>
    /// <returns>Its namespace and name.</returns>
    public static (string Namespace, string Name) ServiceAccountOf(JsonObject deployment) =>
        (Manifest.Namespace(deployment), Manifest.Str(deployment, "spec", "template", "spec", "serviceAccountName") ?? "default");

    /// <summary>The rules of the ClusterRoles that ClusterRoleBindings bind to a ServiceAccount.</summary>
    /// <param name="objects">The objects to look in.</param>
    /// <param name="serviceAccount">Namespace and name of the ServiceAccount.</param>
    /// <returns>The grants.</returns>
    public static IReadOnlySet<RbacGrant> ClusterWide(IEnumerable<JsonObject> objects, (string Namespace, string Name) serviceAccount)
    {
        var all = objects.ToList();
        var grants = new HashSet<RbacGrant>();
        foreach (var binding in all.Where(o => Manifest.Kind(o) == "ClusterRoleBinding" && Binds(o, serviceAccount)))
        {
            if (Manifest.Str(binding, "roleRef", "kind") == "ClusterRole")
            {
                grants.UnionWith(RoleGrants(all, "ClusterRole", Manifest.Str(binding, "roleRef", "name"), null));
            }
        }

        return grants;
    }

    /// <summary>The rules that RoleBindings in one namespace bind to a ServiceAccount there.</summary>
    /// <param name="objects">The objects to look in.</param>
    /// <param name="serviceAccount">Namespace and name of the ServiceAccount.</param>
    /// <param name="ns">The namespace of the request.</param>
    /// <returns>The grants.</returns>
    public static IReadOnlySet<RbacGrant> InNamespace(IEnumerable<JsonObject> objects, (string Namespace, string Name) serviceAccount, string ns)
    {
        var all = objects.ToList();
        var grants = new HashSet<RbacGrant>();
        foreach (var binding in all.Where(o => Manifest.Kind(o) == "RoleBinding" && Manifest.Namespace(o) == ns && Binds(o, serviceAccount)))
        {
            var roleKind = Manifest.Str(binding, "roleRef", "kind");
            if (roleKind is "Role" or "ClusterRole")
            {
                grants.UnionWith(RoleGrants(all, roleKind, Manifest.Str(binding, "roleRef", "name"), roleKind == "Role" ? ns : null));
            }
        }

        return grants;
    }

    /// <summary>Every (group, resource, verb) of a role's rules, wildcards kept as <c>*</c>.</summary>
    /// <param name="role">A Role or ClusterRole.</param>
    /// <returns>The grants. Rules limited by resourceNames, and nonResourceURLs rules, grant no resource as a whole and are left out.</returns>
    public static IReadOnlySet<RbacGrant> Expand(JsonObject role)
    {
        var grants = new HashSet<RbacGrant>();
        foreach (var rule in Manifest.Items(role, "rules"))
        {
            if (Manifest.Strings(rule, "resourceNames").Count > 0)
            {
                continue;
            }

            foreach (var group in Manifest.Strings(rule, "apiGroups"))
            {
                foreach (var resource in Manifest.Strings(rule, "resources"))
                {
                    foreach (var verb in Manifest.Strings(rule, "verbs"))
                    {
                        grants.Add(new RbacGrant(group, resource, verb));
                    }
                }
            }
        }

        return grants;
    }

    /// <summary>Whether some grant allows a request, matching wildcards as the RBAC authorizer does.</summary>
    /// <param name="grants">The grants.</param>
    /// <param name="group">API group of the request.</param>
    /// <param name="resource">Resource (<c>resource/subresource</c> for a subresource).</param>
    /// <param name="verb">Verb.</param>
    /// <returns>True when allowed.</returns>
    public static bool Allows(IEnumerable<RbacGrant> grants, string group, string resource, string verb) =>
        grants.Any(g => (g.Group == "*" || g.Group == group) && ResourceMatches(g.Resource, resource) && (g.Verb == "*" || g.Verb == verb));

    private static bool ResourceMatches(string rule, string requested)
    {
        if (rule == "*" || rule == requested)
        {
            return true;
        }

        var slash = requested.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && (rule == requested[..slash] + "/*" || rule == "*" + requested[slash..]);
    }

    private static bool Binds(JsonObject binding, (string Namespace, string Name) serviceAccount) =>
        Manifest.Items(binding, "subjects").Any(s =>
            Manifest.Str(s, "kind") == "ServiceAccount"
            && Manifest.Str(s, "name") == serviceAccount.Name
            && Manifest.Str(s, "namespace") == serviceAccount.Namespace);

    private static IEnumerable<RbacGrant> RoleGrants(List<JsonObject> all, string kind, string? name, string? ns) =>
        all.Where(o => Manifest.Kind(o) == kind && Manifest.Name(o) == name && (ns is null || Manifest.Namespace(o) == ns))
            .SelectMany(Expand);
}
