using System.Reflection;
using System.Text;
using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Rbac;

/// <summary>
/// Builds the operator's RBAC from the <see cref="EntityRbacAttribute"/> declarations of an
/// assembly, as KubeOps' and controller-gen's RBAC generators do: one rule per (API group, resource)
/// with the union of the declared verbs, rules sorted by group and then resource (controller-gen's
/// order), verbs in the order kube-apiserver documents them (get, list, watch, create, update,
/// patch, delete, deletecollection). No wildcard is ever produced: a grant exists only where code
/// declares a use.
/// </summary>
public static class RbacGenerator
{
    /// <summary>Labels of the generated roles, as the rest of <c>config/rbac</c> carries them.</summary>
    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal)
    {
        ["app.kubernetes.io/name"] = "userapi-operator",
        ["app.kubernetes.io/managed-by"] = "kustomize",
    };

    private static readonly (RbacVerb Verb, string Name)[] VerbNames =
    [
        (RbacVerb.Get, "get"), (RbacVerb.List, "list"), (RbacVerb.Watch, "watch"), (RbacVerb.Create, "create"),
        (RbacVerb.Update, "update"), (RbacVerb.Patch, "patch"), (RbacVerb.Delete, "delete"),
        (RbacVerb.DeleteCollection, "deletecollection"),
    ];

    /// <summary>The merged grants of <paramref name="scope"/> declared on <paramref name="types"/>, sorted by group and resource.</summary>
    /// <param name="types">Types to scan, for example <c>typeof(Program).Assembly.GetTypes()</c>.</param>
    /// <param name="scope">Which role's grants.</param>
    /// <exception cref="InvalidOperationException">A declared kind has no <see cref="KubernetesEntityAttribute"/>, or a declaration has no verb.</exception>
    public static IReadOnlyList<RbacGrant> Grants(IEnumerable<Type> types, RbacScope scope)
    {
        ArgumentNullException.ThrowIfNull(types);
        var merged = new Dictionary<(string Group, string Resource), (RbacVerb Verbs, List<string> Reasons)>();
        foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            foreach (var declaration in type.GetCustomAttributes<EntityRbacAttribute>().Where(a => a.Scope == scope))
            {
                if (declaration.Verbs == RbacVerb.None)
                {
                    throw new InvalidOperationException($"{type.FullName}: [EntityRbac({declaration.Entity.Name})] declares no verb.");
                }

                var entity = declaration.Entity.GetCustomAttribute<KubernetesEntityAttribute>()
                    ?? throw new InvalidOperationException($"{type.FullName}: {declaration.Entity.FullName} has no [KubernetesEntity] attribute, so its group and resource are unknown.");
                var resource = declaration.Subresource is { Length: > 0 } sub ? $"{entity.PluralName}/{sub}" : entity.PluralName;
                var key = (entity.Group ?? "", resource);
                var (verbs, reasons) = merged.TryGetValue(key, out var found) ? found : (RbacVerb.None, []);
                if (declaration.Reason.Length > 0 && !reasons.Contains(declaration.Reason, StringComparer.Ordinal))
                {
                    reasons.Add(declaration.Reason);
                }

                merged[key] = (verbs | declaration.Verbs, reasons);
            }
        }

        return merged
            .OrderBy(g => g.Key.Group, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Resource, StringComparer.Ordinal)
            .Select(g => new RbacGrant(g.Key.Group, g.Key.Resource, g.Value.Verbs, g.Value.Reasons))
            .ToList();
    }

    /// <summary>The verbs of <paramref name="verbs"/> as RBAC names, in kube-apiserver's order.</summary>
    public static IReadOnlyList<string> VerbList(RbacVerb verbs) =>
        VerbNames.Where(v => verbs.HasFlag(v.Verb)).Select(v => v.Name).ToList();

    /// <summary>The ClusterRole <c>manager-role</c> of every <see cref="RbacScope.Cluster"/> grant.</summary>
    public static V1ClusterRole ClusterRole(IEnumerable<Type> types) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "ClusterRole",
        Metadata = new V1ObjectMeta { Name = "manager-role", Labels = new Dictionary<string, string>(Labels) },
        Rules = Rules(Grants(types, RbacScope.Cluster)),
    };

    /// <summary>
    /// The Role <c>leader-election-role</c> of every <see cref="RbacScope.LeaderElectionNamespace"/>
    /// grant, in namespace <c>system</c> (kustomize's <c>config/default</c> renames it to the operator's namespace).
    /// </summary>
    public static V1Role LeaderElectionRole(IEnumerable<Type> types) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "Role",
        Metadata = new V1ObjectMeta { Name = "leader-election-role", NamespaceProperty = "system", Labels = new Dictionary<string, string>(Labels) },
        Rules = Rules(Grants(types, RbacScope.LeaderElectionNamespace)),
    };

    /// <summary>
    /// One YAML document: a comment naming each rule and why the code needs it, then
    /// <paramref name="role"/>. This is the text committed as <c>config/rbac/role.yaml</c> or
    /// <c>config/rbac/leader_election_role.yaml</c>.
    /// </summary>
    /// <param name="role">A role from <see cref="ClusterRole"/> or <see cref="LeaderElectionRole"/>.</param>
    /// <param name="grants">The grants it was built from (their reasons become the comment).</param>
    /// <param name="summary">The comment's first line(s), without <c>#</c>.</param>
    public static string Render(IKubernetesObject<V1ObjectMeta> role, IReadOnlyList<RbacGrant> grants, string summary)
    {
        ArgumentNullException.ThrowIfNull(grants);
        ArgumentNullException.ThrowIfNull(summary);
        var text = new StringBuilder();
        foreach (var line in summary.Split('\n'))
        {
            text.Append('#').Append(line.Length > 0 ? " " : "").Append(line).Append('\n');
        }

        text.Append("# Generated from the [EntityRbac] declarations in src/Operator by `userapi-operator rbac`\n");
        text.Append("# (hack/update-rbac.sh); do not edit by hand: a test fails when the two differ.\n#\n");
        foreach (var grant in grants)
        {
            text.Append("# - ").Append(grant.Group.Length == 0 ? "\"\"" : grant.Group).Append(' ').Append(grant.Resource)
                .Append(": ").Append(string.Join(", ", VerbList(grant.Verbs))).Append('\n');
            foreach (var reason in grant.Reasons)
            {
                text.Append("#     ").Append(reason).Append('\n');
            }
        }

        text.Append(KubernetesYaml.Serialize(role));
        return text.ToString();
    }

    private static List<V1PolicyRule> Rules(IReadOnlyList<RbacGrant> grants) =>
        grants.Select(g => new V1PolicyRule
        {
            ApiGroups = [g.Group],
            Resources = [g.Resource],
            Verbs = VerbList(g.Verbs).ToList(),
        }).ToList();
}

/// <summary>One merged grant: the verbs on <c>resource</c> (<c>plural</c> or <c>plural/subresource</c>) of API group <c>group</c> (<c>""</c> for core).</summary>
/// <param name="Group">API group; empty for the core group.</param>
/// <param name="Resource">Plural resource name, with <c>/subresource</c> where declared.</param>
/// <param name="Verbs">Union of the declared verbs.</param>
/// <param name="Reasons">The declarations' reasons, in order, without repeats.</param>
public sealed record RbacGrant(string Group, string Resource, RbacVerb Verbs, IReadOnlyList<string> Reasons);
