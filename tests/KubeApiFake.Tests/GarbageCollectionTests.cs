using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

public sealed class GarbageCollectionTests : FakeServerTest
{
    private static JsonObject OwnedBy(JsonObject obj, JsonObject owner)
    {
        obj["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = owner["apiVersion"]!.DeepClone(),
            ["kind"] = owner["kind"]!.DeepClone(),
            ["name"] = owner["metadata"]!["name"]!.DeepClone(),
            ["uid"] = owner["metadata"]!["uid"]!.DeepClone(),
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        });
        return obj;
    }

    [Fact]
    public async Task Deleting_an_owner_deletes_its_dependents_transitively()
    {
        await Widgets.InstallAsync(Http);
        var (_, owner) = await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse(Widgets.Widget("app")));
        var (_, secret) = await Http.PostJsonAsync("/api/v1/namespaces/default/secrets",
            OwnedBy(KubeHttp.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"app-mysql"}}"""), owner));
        await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", OwnedBy(KubeHttp.ConfigMap("derived"), secret));
        var (_, shared) = await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", OwnedBy(KubeHttp.ConfigMap("shared"), owner));
        var other = await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap("other-owner"));
        // "shared" has a second, surviving owner.
        var refs = shared["metadata"]!["ownerReferences"]!.AsArray();
        refs.Add(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "other-owner", ["uid"] = other.Body["metadata"]!["uid"]!.DeepClone() });
        Assert.Equal(HttpStatusCode.OK, (await Http.PutJsonAsync("/api/v1/namespaces/default/configmaps/shared", shared)).Code);

        await using var watch = await WatchStream.OpenAsync(Http, $"/api/v1/namespaces/default/secrets?watch=true&resourceVersion={Api.Store.ResourceVersion}");
        var (code, _) = await Http.DeleteJsonAsync($"{Widgets.Collection}/app");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Null(Api.Store.Get(KnownResources.Secrets, "default", "app-mysql"));
        Assert.Null(Api.Store.Get(KnownResources.ConfigMaps, "default", "derived"));
        var survivor = Api.Store.Get(KnownResources.ConfigMaps, "default", "shared");
        Assert.Equal("other-owner", survivor!["metadata"]!["ownerReferences"]!.AsArray().Single()!["name"].Str());
        var deleted = await watch.NextAsync();
        Assert.Equal(("DELETED", "app-mysql"), (deleted["type"].Str(), deleted["object"]!["metadata"]!["name"].Str()));
    }

    [Fact]
    public async Task Finalizers_hold_deletion_until_they_are_removed()
    {
        var cm = KubeHttp.ConfigMap("held");
        cm["metadata"]!["finalizers"] = new JsonArray("example.com/cleanup");
        await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", cm);

        var (code, marked) = await Http.DeleteJsonAsync("/api/v1/namespaces/default/configmaps/held");
        Assert.Equal(HttpStatusCode.Accepted, code);
        Assert.NotNull(marked["metadata"]!["deletionTimestamp"]);
        Assert.NotNull(Api.Store.Get(KnownResources.ConfigMaps, "default", "held"));

        var (patchCode, _) = await Http.MergePatchAsync("/api/v1/namespaces/default/configmaps/held", KubeHttp.Parse("""{"metadata":{"finalizers":null}}"""));
        Assert.Equal(HttpStatusCode.OK, patchCode);
        await Api.WaitForDeletionAsync(KnownResources.ConfigMaps, "default", "held", TimeSpan.FromSeconds(5));
    }
}
