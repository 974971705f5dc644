using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

public sealed class StatusSubresourceTests : FakeServerTest
{
    [Fact]
    public async Task Status_endpoint_changes_only_status_and_main_endpoint_ignores_status()
    {
        await Widgets.InstallAsync(Http);
        var (_, created) = await Http.PostJsonAsync(Widgets.Collection,
            KubeHttp.Parse("""{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"replicas":2},"status":{"ready":true}}"""));
        Assert.Null(created["status"]);

        // PUT /status with a spec change: only status is taken; generation stays.
        var put = (JsonObject)created.DeepClone();
        put["spec"]!["replicas"] = 9;
        put["status"] = new JsonObject { ["ready"] = true, ["observedGeneration"] = 1 };
        var (code, afterStatus) = await Http.PutJsonAsync($"{Widgets.Collection}/w/status", put);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(2, afterStatus["spec"]!["replicas"]!.GetValue<int>());
        Assert.True(afterStatus["status"]!["ready"]!.GetValue<bool>());
        Assert.Equal(1, afterStatus.Generation());
        Assert.NotEqual(created.Rv(), afterStatus.Rv());

        // Merge patch on the main endpoint: spec changes, status change ignored.
        var (patchCode, patched) = await Http.MergePatchAsync($"{Widgets.Collection}/w", KubeHttp.Parse("""{"spec":{"replicas":4},"status":{"ready":false}}"""));
        Assert.Equal(HttpStatusCode.OK, patchCode);
        Assert.Equal(4, patched["spec"]!["replicas"]!.GetValue<int>());
        Assert.True(patched["status"]!["ready"]!.GetValue<bool>());
        Assert.Equal(2, patched.Generation());

        // Merge patch on /status; GET /status.
        var (statusPatch, _) = await Http.MergePatchAsync($"{Widgets.Collection}/w/status", KubeHttp.Parse("""{"status":{"observedGeneration":2}}"""));
        Assert.Equal(HttpStatusCode.OK, statusPatch);
        var (getCode, viaStatus) = await Http.GetJsonAsync($"{Widgets.Collection}/w/status");
        Assert.Equal(HttpStatusCode.OK, getCode);
        Assert.Equal(2, viaStatus["status"]!["observedGeneration"]!.GetValue<int>());

        // An identical status write is a no-op.
        var (_, again) = await Http.MergePatchAsync($"{Widgets.Collection}/w/status", KubeHttp.Parse("""{"status":{"observedGeneration":2}}"""));
        Assert.Equal(viaStatus.Rv(), again.Rv());

        // Status of a resource without the subresource: 404.
        await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap("c"));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps/c/status")).Code);
    }

    [Fact]
    public async Task Status_apply_and_store_UpdateStatus_touch_only_status()
    {
        var deployment = KubeHttp.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
                     "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"api","image":"userapi:1"}]}}}}
            """);
        await Http.PostJsonAsync("/apis/apps/v1/namespaces/default/deployments", deployment);

        var updated = Api.Store.UpdateStatus("apps", "v1", "deployments", "default", "web", d =>
        {
            d["spec"]!["replicas"] = 1;
            d["status"] = new JsonObject { ["replicas"] = 3, ["readyReplicas"] = 3, ["availableReplicas"] = 3 };
        });
        Assert.Equal(3, updated!["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(3, updated["status"]!["readyReplicas"]!.GetValue<int>());

        var (code, applied) = await Http.ApplyAsync("/apis/apps/v1/namespaces/default/deployments/web/status",
            """{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"status":{"observedGeneration":1}}""", "status-writer");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(1, applied["status"]!["observedGeneration"]!.GetValue<int>());
        Assert.Equal(3, applied["status"]!["readyReplicas"]!.GetValue<int>());
        Assert.Contains(applied["metadata"]!["managedFields"]!.AsArray(),
            m => m!["manager"].Str() == "status-writer" && m["subresource"].Str() == "status");
    }
}
