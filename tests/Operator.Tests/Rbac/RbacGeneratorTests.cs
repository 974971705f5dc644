using k8s;
using k8s.Models;
using UserApiOperator.Runtime.Rbac;

namespace UserApiOperator.Tests.Rbac;

public sealed class RbacGeneratorTests
{
    [EntityRbac(typeof(V1Deployment), RbacVerb.Patch | RbacVerb.Create, Reason = "applies the Deployment")]
    [EntityRbac(typeof(V1Secret), RbacVerb.Create, Reason = "creates the Secret once")]
    [EntityRbac(typeof(V1Lease), RbacVerb.Get | RbacVerb.Update, Scope = RbacScope.LeaderElectionNamespace, Reason = "renews the Lease")]
    private sealed class Reconciler;

    [EntityRbac(typeof(V1Deployment), RbacVerb.Watch | RbacVerb.List | RbacVerb.Get, Reason = "caches Deployments")]
    [EntityRbac(typeof(V1Deployment), RbacVerb.List, Reason = "caches Deployments")]
    [EntityRbac(typeof(V1Deployment), RbacVerb.Update, Subresource = "status", Reason = "reports")]
    private sealed class Informers;

    [EntityRbac(typeof(string), RbacVerb.Get)]
    private sealed class NotAKind;

    [EntityRbac(typeof(V1Secret), RbacVerb.None)]
    private sealed class NoVerb;

    private static readonly Type[] Declared = [typeof(Reconciler), typeof(Informers)];

    [Fact]
    public void Declarations_of_one_kind_merge_into_one_rule_with_verbs_in_apiserver_order()
    {
        var grants = RbacGenerator.Grants(Declared, RbacScope.Cluster);

        Assert.Equal(
            [" secrets: create", "apps deployments: get list watch create patch", "apps deployments/status: update"],
            grants.Select(g => $"{g.Group} {g.Resource}: {string.Join(' ', RbacGenerator.VerbList(g.Verbs))}"));
        Assert.Equal(["caches Deployments", "applies the Deployment"], grants[1].Reasons);
    }

    [Fact]
    public void Each_scope_gets_only_its_own_grants()
    {
        var grant = Assert.Single(RbacGenerator.Grants(Declared, RbacScope.LeaderElectionNamespace));
        Assert.Equal(("coordination.k8s.io", "leases", "get update"), (grant.Group, grant.Resource, string.Join(' ', RbacGenerator.VerbList(grant.Verbs))));
    }

    [Fact]
    public void A_kind_without_an_entity_attribute_or_a_declaration_without_verbs_is_refused()
    {
        Assert.Contains("has no [KubernetesEntity]", Assert.Throws<InvalidOperationException>(() => RbacGenerator.Grants([typeof(NotAKind)], RbacScope.Cluster)).Message, StringComparison.Ordinal);
        Assert.Contains("declares no verb", Assert.Throws<InvalidOperationException>(() => RbacGenerator.Grants([typeof(NoVerb)], RbacScope.Cluster)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendered_role_reads_back_as_the_same_rules_under_a_comment_of_reasons()
    {
        var grants = RbacGenerator.Grants(Declared, RbacScope.Cluster);
        var yaml = RbacGenerator.Render(RbacGenerator.ClusterRole(Declared), grants, "Test role.");

        Assert.StartsWith("# Test role.\n", yaml, StringComparison.Ordinal);
        Assert.Contains("# - apps deployments: get, list, watch, create, patch\n#     caches Deployments\n#     applies the Deployment\n", yaml, StringComparison.Ordinal);
        Assert.Contains("# - \"\" secrets: create\n", yaml, StringComparison.Ordinal);

        var role = KubernetesYaml.Deserialize<V1ClusterRole>(yaml);
        Assert.Equal("manager-role", role.Metadata.Name);
        Assert.Equal(
            ["/secrets=create", "apps/deployments=get,list,watch,create,patch", "apps/deployments/status=update"],
            role.Rules.Select(r => $"{string.Join(',', r.ApiGroups)}/{string.Join(',', r.Resources)}={string.Join(',', r.Verbs)}"));
        Assert.DoesNotContain(role.Rules, r => r.Verbs.Contains("*") || r.Resources.Contains("*") || r.ApiGroups.Contains("*"));
    }
}
