namespace KubeApiFake.Tests;

/// <summary>Request attributes as kube-apiserver's RequestInfoFactory derives them (requestinfo.go and its tests).</summary>
public sealed class RequestAttributesTests
{
    [Theory]
    [InlineData("GET", "/api/v1/namespaces", "", "list", "", "namespaces", "", "", "")]
    [InlineData("GET", "/api/v1/namespaces/other", "", "get", "other", "namespaces", "", "other", "")]
    [InlineData("PUT", "/api/v1/namespaces/other/finalize", "", "update", "other", "namespaces", "finalize", "other", "")]
    [InlineData("PATCH", "/api/v1/namespaces/other/status", "", "patch", "other", "namespaces", "status", "other", "")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p/log", "", "get", "ns", "pods", "log", "p", "")]
    [InlineData("GET", "/apis/apps/v1/deployments", "watch=true", "watch", "", "deployments", "", "", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments", "watch=0", "list", "ns", "deployments", "", "", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments", "watch=yes", "watch", "ns", "deployments", "", "", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments", "fieldSelector=metadata.name%3D%3Dweb", "list", "ns", "deployments", "", "web", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments", "fieldSelector=metadata.name!%3Dweb", "list", "ns", "deployments", "", "", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments", "fieldSelector=metadata.name%3Da%2Fb", "list", "ns", "deployments", "", "", "apps")]
    [InlineData("GET", "/apis/apps/v1/watch/namespaces/ns/deployments/web", "", "watch", "ns", "deployments", "", "web", "apps")]
    [InlineData("GET", "/apis/apps/v1/namespaces/ns/deployments/web", "watch=true", "get", "ns", "deployments", "", "web", "apps")]
    [InlineData("DELETE", "/apis/apps/v1/namespaces/ns/deployments", "", "deletecollection", "ns", "deployments", "", "", "apps")]
    [InlineData("POST", "/apis/apps/v1/namespaces/ns/deployments/web/rollback", "", "create", "ns", "deployments", "rollback", "web", "apps")]
    [InlineData("HEAD", "/api/v1/namespaces/ns/secrets/s", "", "get", "ns", "secrets", "", "s", "")]
    public void Resource_requests_map_like_RequestInfoFactory(string method, string path, string query,
        string verb, string ns, string resource, string subresource, string name, string group)
    {
        var a = RequestAttributes.From(method, path, query);
        Assert.True(a.IsResourceRequest);
        Assert.Equal((verb, ns, resource, subresource, name, group), (a.Verb, a.Namespace, a.Resource, a.Subresource, a.Name, a.ApiGroup));
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/api")]
    [InlineData("GET", "/api/v1")]
    [InlineData("GET", "/apis/apps")]
    [InlineData("GET", "/apis/apps/v1")]
    [InlineData("GET", "/openapi/v3/apis/apps/v1")]
    [InlineData("POST", "/version")]
    [InlineData("GET", "/healthz/etcd")]
    public void Other_paths_are_non_resource_requests_with_the_http_method_as_verb(string method, string path)
    {
        var a = RequestAttributes.From(method, path, "");
        Assert.False(a.IsResourceRequest);
        Assert.Equal((method.ToLowerInvariant(), path), (a.Verb, a.Path));
    }
}
