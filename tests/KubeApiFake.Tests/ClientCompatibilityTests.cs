using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>Details kubectl and the operator's own client rely on: YAML bodies, strategic merge patch, OpenAPI v3, concurrency.</summary>
public sealed class ClientCompatibilityTests : FakeServerTest
{
    private const string Deployments = "/apis/apps/v1/namespaces/default/deployments";

    private static JsonObject Deployment() => KubeHttp.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
         "spec":{"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[
                   {"name":"db","image":"mysql:8","ports":[{"name":"mysql","containerPort":3306}]},
                   {"name":"api","image":"userapi:1","ports":[{"name":"http","containerPort":8000}]}]}}}}
        """);

    [Fact]
    public async Task Yaml_request_bodies_are_accepted()
    {
        var (code, created) = await Http.SendAsync(HttpMethod.Post, "/api/v1/namespaces/default/configmaps", """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: from-yaml
            data:
              enabled: "true"
              port: "8000"
            """, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("true", created["data"]!["enabled"].Str());
    }

    [Fact]
    public async Task Strategic_merge_patch_merges_containers_by_name_for_built_ins()
    {
        await Http.PostJsonAsync(Deployments, Deployment());
        var (code, patched) = await Http.SendAsync(HttpMethod.Patch, $"{Deployments}/web", """
            {"spec":{"template":{"spec":{
              "$setElementOrder/containers":[{"name":"db"},{"name":"api"}],
              "containers":[{"name":"api","image":"userapi:2"}]}}}}
            """, "application/strategic-merge-patch+json");

        Assert.Equal(HttpStatusCode.OK, code);
        var containers = patched["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Equal(["db", "api"], containers.Select(c => c!["name"].Str()).ToList());
        Assert.Equal("userapi:2", containers[1]!["image"].Str());
        Assert.Equal(8000, containers[1]!["ports"]![0]!["containerPort"]!.GetValue<int>());
        Assert.Equal(2, patched.Generation());

        var (deleteCode, afterDelete) = await Http.SendAsync(HttpMethod.Patch, $"{Deployments}/web",
            """{"spec":{"template":{"spec":{"containers":[{"name":"db","$patch":"delete"}]}}}}""", "application/strategic-merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, deleteCode);
        Assert.Equal("api", afterDelete["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single()!["name"].Str());
    }

    [Fact]
    public async Task OpenApi_v3_advertises_fieldValidation_on_patch()
    {
        var (_, root) = await Http.GetJsonAsync("/openapi/v3");
        var url = root["paths"]!["apis/apps/v1"]!["serverRelativeURL"].Str()!;
        var (code, doc) = await Http.GetJsonAsync(url);
        Assert.Equal(HttpStatusCode.OK, code);
        var patch = doc["paths"]!["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!["patch"]!;
        Assert.Equal("Deployment", patch["x-kubernetes-group-version-kind"]!["kind"].Str());
        Assert.Contains(patch["parameters"]!.AsArray(), p => p!["name"].Str() == "fieldValidation");
    }

    [Fact]
    public async Task Concurrent_writes_get_distinct_increasing_resourceVersions_in_watch_order()
    {
        await using var watch = await WatchStream.OpenAsync(Http,
            $"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={Api.Store.ResourceVersion}");
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap($"c{i}"))));
        Assert.All(results, r => Assert.Equal(HttpStatusCode.Created, r.Code));
        Assert.Equal(40, results.Select(r => r.Body.Rv()).Distinct().Count());

        var seen = new List<long>();
        for (var i = 0; i < 40; i++) seen.Add(long.Parse((await watch.NextAsync())["object"]!.AsObject().Rv(), CultureInfo.InvariantCulture));
        Assert.Equal(seen.Order(), seen);
        Assert.Empty(Api.ServerErrors);
    }

    [Fact]
    public async Task Store_accessors_simulate_controllers_and_wake_waiters()
    {
        await Http.PostJsonAsync(Deployments, Deployment());
        var waiter = Api.WaitForObjectAsync(KnownResources.Deployments, "default", "web",
            d => d["status"]?["availableReplicas"]?.GetValue<int>() == 1, TimeSpan.FromSeconds(5));

        Api.Store.UpdateStatus(KnownResources.Deployments, "default", "web",
            d => d["status"] = new JsonObject { ["availableReplicas"] = 1, ["readyReplicas"] = 1 });
        var available = await waiter;
        Assert.Equal(1, available["status"]!["readyReplicas"]!.GetValue<int>());

        var put = Api.Store.Put(KnownResources.Secrets, KubeHttp.Parse("""{"metadata":{"name":"pre","namespace":"team"},"stringData":{"a":"b"}}"""));
        Assert.Equal("Opaque", put["type"].Str());
        var (code, viaHttp) = await Http.GetJsonAsync("/api/v1/namespaces/team/secrets/pre");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Yg==", viaHttp["data"]!["a"].Str());
        Assert.True(Api.Store.Delete(KnownResources.Secrets, "team", "pre"));
        Assert.Contains("server: http://127.0.0.1:", Api.KubeconfigYaml(), StringComparison.Ordinal);
    }
}
