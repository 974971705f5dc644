using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Tests.Client;

[KubernetesEntity(ApiVersion = "v1", Kind = "Namespace", PluralName = "namespaces", Namespaced = false)]
public sealed class TestNamespace : KubernetesObject;

public sealed class KubernetesUrlsTests
{
    private static readonly Uri Server = new("https://k8s.example:6443");

    [Fact]
    public void Core_group_paths_start_with_api_v1()
    {
        var secret = EntityMetadata.Of<V1Secret>();
        Assert.Equal("/api/v1/namespaces/team-a/secrets", KubernetesUrls.CollectionPath(secret, "team-a"));
        Assert.Equal("/api/v1/secrets", KubernetesUrls.CollectionPath(secret, null));
        Assert.Equal("/api/v1/namespaces/team-a/secrets/db", KubernetesUrls.ItemPath(secret, "team-a", "db"));
    }

    [Fact]
    public void Named_group_paths_start_with_apis_group_version()
    {
        Assert.Equal("/apis/apps/v1/namespaces/x/deployments/web", KubernetesUrls.ItemPath(EntityMetadata.Of<V1Deployment>(), "x", "web"));
        Assert.Equal(
            "/apis/userapi.example.com/v1alpha1/namespaces/x/userapis/alpha/status",
            KubernetesUrls.ItemPath(EntityMetadata.Of<V1Alpha1UserApi>(), "x", "alpha", "status"));
        Assert.Equal("/apis/userapi.example.com/v1alpha1/userapis", KubernetesUrls.CollectionPath(EntityMetadata.Of<V1Alpha1UserApi>(), null));
    }

    [Fact]
    public void Cluster_scoped_kinds_ignore_the_namespace()
    {
        var ns = EntityMetadata.Of<TestNamespace>();
        Assert.Equal("/api/v1/namespaces", KubernetesUrls.CollectionPath(ns, "ignored"));
        Assert.Equal("/api/v1/namespaces/team-a", KubernetesUrls.ItemPath(ns, null, "team-a"));
    }

    [Fact]
    public void Namespaced_items_need_a_namespace_and_a_name()
    {
        Assert.Throws<ArgumentException>(() => KubernetesUrls.ItemPath(EntityMetadata.Of<V1Secret>(), null, "db"));
        Assert.Throws<ArgumentException>(() => KubernetesUrls.ItemPath(EntityMetadata.Of<V1Secret>(), "x", ""));
    }

    [Fact]
    public void Names_namespaces_and_query_values_are_escaped()
    {
        Assert.Equal("/api/v1/namespaces/a%2Fb/secrets/x%20y%3F", KubernetesUrls.ItemPath(EntityMetadata.Of<V1Secret>(), "a/b", "x y?"));
        var uri = KubernetesUrls.Build(Server, "/api/v1/secrets", ("labelSelector", "app.kubernetes.io/name=user-api,env in (a,b)"), ("continue", null), ("limit", "500"));
        Assert.Equal(
            "https://k8s.example:6443/api/v1/secrets?labelSelector=app.kubernetes.io%2Fname%3Duser-api%2Cenv%20in%20%28a%2Cb%29&limit=500",
            uri.AbsoluteUri);
    }

    [Fact]
    public void A_server_path_is_kept_as_a_prefix()
    {
        var uri = KubernetesUrls.Build(new Uri("https://rancher.example/k8s/clusters/c-1/"), "/api/v1/secrets");
        Assert.Equal("https://rancher.example/k8s/clusters/c-1/api/v1/secrets", uri.AbsoluteUri);
    }
}
