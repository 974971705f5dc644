using System.Text.Json.Nodes;
using static UserApiOperator.Deploy.Tests.Manifest;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// The rendered RBAC grants exactly what the operator does (issue 4, item 2): no wildcards, no
/// missing and no extra (group, resource, verb), leader election only in its own namespace.
/// </summary>
public sealed class RbacTests
{
    /// <summary>
    /// Every API call the operator makes, in any namespace, as the API server authorises it: a
    /// server-side apply that creates its object needs create as well as patch (handlers/patch.go).
    /// </summary>
    public static readonly IReadOnlySet<RbacGrant> OperatorCalls = Grants(
        ("userapi.example.com", "userapis", "get list watch"),
        ("userapi.example.com", "userapis/status", "patch"),
        ("", "secrets", "get list watch create patch"),
        ("", "services", "list watch create patch"),
        ("", "events", "create"),
        ("", "pods", "list watch"),
        ("apps", "deployments", "list watch create patch"),
        ("networking.k8s.io", "ingresses", "list watch create patch delete"),
        ("autoscaling", "horizontalpodautoscalers", "list watch create patch delete"),
        ("policy", "poddisruptionbudgets", "list watch create patch delete"),
        ("networking.k8s.io", "networkpolicies", "list watch create patch delete"));

    /// <summary>The calls of leader election, in the leader-election namespace.</summary>
    public static readonly IReadOnlySet<RbacGrant> LeaderElectionCalls = Grants(
        ("coordination.k8s.io", "leases", "get create update"),
        ("", "events", "create"));

    public static TheoryData<string, string, string> EveryOperatorCall() => Data(OperatorCalls);

    public static TheoryData<string, string, string> EveryLeaderElectionCall() => Data(LeaderElectionCalls);

    [Fact]
    public void No_rule_has_a_wildcard()
    {
        var roles = RenderedManifests.Objects().Where(o => Kind(o) is "Role" or "ClusterRole").ToList();
        Assert.Equal(2, roles.Count);
        foreach (var role in roles)
        {
            var rules = Items(role, "rules");
            Assert.NotEmpty(rules);
            foreach (var rule in rules)
            {
                foreach (var field in new[] { "apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs" })
                {
                    Assert.DoesNotContain(Strings(rule, field), value => value.Contains('*', StringComparison.Ordinal));
                }
            }

            Assert.Null(At(role, "aggregationRule"));
        }
    }

    [Fact]
    public void Cluster_role_grants_exactly_the_operators_calls()
    {
        var granted = RenderedManifests.ClusterGrants();
        var missing = OperatorCalls.Except(granted).Select(g => g.ToString()).Order(StringComparer.Ordinal).ToList();
        var extra = granted.Except(OperatorCalls).Select(g => g.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"missing: [{string.Join("; ", missing)}]; extra: [{string.Join("; ", extra)}]");

        // The same set, read straight off the one ClusterRole (not only through its binding).
        Assert.True(OperatorCalls.SetEquals(Rbac.Expand(RenderedManifests.Single("ClusterRole"))));
    }

    [Fact]
    public void Leader_election_role_grants_exactly_leases_and_events_in_the_operators_namespace()
    {
        var role = RenderedManifests.Single("Role");
        Assert.Equal(RenderedManifests.LeaderElectionNamespace(), Namespace(role));
        Assert.Equal("userapi-system", RenderedManifests.LeaderElectionNamespace());

        var granted = RenderedManifests.LeaderElectionGrants();
        var missing = LeaderElectionCalls.Except(granted).Select(g => g.ToString()).ToList();
        var extra = granted.Except(LeaderElectionCalls).Select(g => g.ToString()).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"missing: [{string.Join("; ", missing)}]; extra: [{string.Join("; ", extra)}]");
    }

    [Theory]
    [MemberData(nameof(EveryOperatorCall))]
    public void Grants_every_operator_call_in_any_namespace(string group, string resource, string verb) =>
        Assert.True(RenderedManifests.Grants(group, resource, verb), $"{new RbacGrant(group, resource, verb)} is not granted");

    [Theory]
    [MemberData(nameof(EveryLeaderElectionCall))]
    public void Grants_leader_election_only_in_its_namespace(string group, string resource, string verb)
    {
        Assert.True(RenderedManifests.Grants(group, resource, verb, leaderElection: true));
        var alsoClusterWide = OperatorCalls.Contains(new RbacGrant(group, resource, verb));
        Assert.Equal(alsoClusterWide, RenderedManifests.Grants(group, resource, verb));
    }

    [Theory]
    [InlineData("", "secrets", "delete")]
    [InlineData("", "secrets", "update")]
    [InlineData("", "configmaps", "get")]
    [InlineData("", "pods", "get")]
    [InlineData("", "pods", "delete")]
    [InlineData("userapi.example.com", "userapis", "update")]
    [InlineData("userapi.example.com", "userapis", "patch")]
    [InlineData("userapi.example.com", "userapis", "delete")]
    [InlineData("userapi.example.com", "userapis/scale", "patch")]
    [InlineData("apps", "deployments", "delete")]
    [InlineData("apps", "deployments/status", "patch")]
    [InlineData("extensions", "ingresses", "patch")]
    [InlineData("autoscaling", "horizontalpodautoscalers/status", "patch")]
    [InlineData("autoscaling", "horizontalpodautoscalers", "get")]
    [InlineData("policy", "poddisruptionbudgets/status", "patch")]
    [InlineData("", "pods/eviction", "create")]
    [InlineData("networking.k8s.io", "networkpolicies", "update")]
    [InlineData("coordination.k8s.io", "leases", "delete")]
    [InlineData("rbac.authorization.k8s.io", "clusterroles", "create")]
    public void Grants_nothing_else(string group, string resource, string verb)
    {
        Assert.False(RenderedManifests.Grants(group, resource, verb));
        Assert.False(RenderedManifests.Grants(group, resource, verb, leaderElection: true));
    }

    [Fact]
    public void Grants_counts_only_bindings_to_the_operators_service_account()
    {
        var sa = ("ns1", "op");
        JsonObject ClusterRole(string name, string verb) => Parse($$"""
            {"kind":"ClusterRole","metadata":{"name":"{{name}}"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["{{verb}}"]}]}
            """);
        JsonObject Binding(string kind, string role, string subjectName, string? ns = null) => Parse($$"""
            {"kind":"{{kind}}","metadata":{"name":"b-{{role}}"{{(ns is null ? "" : $",\"namespace\":\"{ns}\"")}}},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{{role}}"},
             "subjects":[{"kind":"ServiceAccount","name":"{{subjectName}}","namespace":"ns1"}]}
            """);
        var objects = new[]
        {
            ClusterRole("mine", "get"), Binding("ClusterRoleBinding", "mine", "op"),
            ClusterRole("theirs", "delete"), Binding("ClusterRoleBinding", "theirs", "someone-else"),
            ClusterRole("unbound", "create"),
            ClusterRole("local", "watch"), Binding("RoleBinding", "local", "op", "ns1"),
        };

        Assert.Equal([new RbacGrant("", "pods", "get")], Rbac.ClusterWide(objects, sa));
        Assert.Equal([new RbacGrant("", "pods", "watch")], Rbac.InNamespace(objects, sa, "ns1"));
        Assert.Empty(Rbac.InNamespace(objects, sa, "ns2"));
    }

    [Theory]
    [InlineData("*", "pods", "get", "", "pods", "get", true)]
    [InlineData("", "*", "get", "", "secrets", "get", true)]
    [InlineData("", "pods", "*", "", "pods", "delete", true)]
    [InlineData("apps", "deployments/*", "patch", "apps", "deployments/status", "patch", true)]
    [InlineData("apps", "*/status", "patch", "apps", "deployments/status", "patch", true)]
    [InlineData("apps", "deployments", "patch", "apps", "deployments/status", "patch", false)]
    [InlineData("apps", "deployments/status", "patch", "apps", "deployments", "patch", false)]
    [InlineData("apps", "deployments", "get", "apps", "deployments", "patch", false)]
    [InlineData("", "pods", "get", "apps", "pods", "get", false)]
    public void Allows_matches_like_the_rbac_authorizer(string ruleGroup, string ruleResource, string ruleVerb, string group, string resource, string verb, bool allowed) =>
        Assert.Equal(allowed, Rbac.Allows([new RbacGrant(ruleGroup, ruleResource, ruleVerb)], group, resource, verb));

    [Fact]
    public void Rules_limited_to_resource_names_grant_no_resource_as_a_whole()
    {
        var role = Parse("""{"kind":"Role","rules":[{"apiGroups":[""],"resources":["secrets"],"resourceNames":["one"],"verbs":["get"]},{"apiGroups":[""],"resources":["services"],"verbs":["get"]}]}""");
        Assert.Equal([new RbacGrant("", "services", "get")], Rbac.Expand(role));
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static HashSet<RbacGrant> Grants(params (string Group, string Resource, string Verbs)[] rules) =>
        [.. rules.SelectMany(r => r.Verbs.Split(' ').Select(v => new RbacGrant(r.Group, r.Resource, v)))];

    private static TheoryData<string, string, string> Data(IEnumerable<RbacGrant> grants)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var g in grants)
        {
            data.Add(g.Group, g.Resource, g.Verb);
        }

        return data;
    }
}
