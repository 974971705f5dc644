using System.Net;

namespace KubeApiFake.Tests;

/// <summary>
/// Who may evict: RBAC's <c>create</c> on <c>pods/eviction</c> (a grant on <c>pods</c> is not
/// enough), and a node only the Pods bound to it (NodeRestriction's <c>admitPodEviction</c>).
/// </summary>
public sealed class EvictionAuthorizationTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => Disruption.Options(authorization: true);

    [Fact]
    public async Task Evicting_needs_create_on_pods_eviction()
    {
        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        await Api.ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pod-deleter, namespace: default}
            rules:
            - {apiGroups: [""], resources: [pods], verbs: [get, list, delete]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: drainer, namespace: default}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-deleter}
            subjects:
            - {kind: ServiceAccount, name: drainer, namespace: default}
            """);
        using var drainer = Api.CreateClient(Api.IssueServiceAccountToken("default", "drainer"));

        var (denied, body) = await drainer.PostJsonAsync(Disruption.EvictionPath("web-a"), Disruption.Eviction("web-a"));
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal(
            "pods \"web-a\" is forbidden: User \"system:serviceaccount:default:drainer\" cannot create resource \"pods/eviction\" in API group \"\" in the namespace \"default\"",
            body["message"].Str());

        await Api.ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pod-deleter, namespace: default}
            rules:
            - {apiGroups: [""], resources: [pods], verbs: [get, list, delete]}
            - {apiGroups: [""], resources: [pods/eviction], verbs: [create]}
            """);
        Assert.Equal(HttpStatusCode.Created, (await drainer.PostJsonAsync(Disruption.EvictionPath("web-a"), Disruption.Eviction("web-a"))).Code);
    }

    [Fact]
    public async Task A_node_may_evict_only_the_pods_bound_to_it()
    {
        await Disruption.CreateRunningPodAsync(Api, "mine", "n1");
        await Disruption.CreateRunningPodAsync(Api, "theirs", "n2");
        using var node = Api.CreateClient(Api.IssueToken("system:node:n1", "system:nodes"));

        var (denied, body) = await node.PostJsonAsync(Disruption.EvictionPath("theirs"), Disruption.Eviction("theirs"));
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal("pods \"theirs\" is forbidden: node n1 can only evict pods with spec.nodeName set to itself", body["message"].Str());

        Assert.Equal(HttpStatusCode.Created, (await node.PostJsonAsync(Disruption.EvictionPath("mine"), Disruption.Eviction("mine"))).Code);
        Assert.NotNull(Api.Store.Get(KnownResources.Pods, "default", "theirs"));
    }
}
