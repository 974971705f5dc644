using System.Net;

namespace KubeApiFake.Tests;

public sealed class DiscoveryTests : FakeServerTest
{
    [Fact]
    public async Task Discovery_documents_list_groups_and_resources()
    {
        var (_, api) = await Http.GetJsonAsync("/api");
        Assert.Equal("APIVersions", api["kind"].Str());
        Assert.Equal("v1", api["versions"]![0].Str());

        var (_, core) = await Http.GetJsonAsync("/api/v1");
        Assert.Equal("APIResourceList", core["kind"].Str());
        Assert.Equal("v1", core["groupVersion"].Str());
        var secrets = core["resources"]!.AsArray().Single(r => r!["name"].Str() == "secrets")!;
        Assert.True(secrets["namespaced"]!.GetValue<bool>());
        Assert.Equal("Secret", secrets["kind"].Str());
        Assert.Contains("watch", secrets["verbs"]!.AsArray().Select(v => v.Str()));
        Assert.Contains(core["resources"]!.AsArray(), r => r!["name"].Str() == "services/status");
        Assert.False(core["resources"]!.AsArray().Single(r => r!["name"].Str() == "namespaces")!["namespaced"]!.GetValue<bool>());

        await Widgets.InstallAsync(Http);
        var (_, groups) = await Http.GetJsonAsync("/apis");
        Assert.Equal("APIGroupList", groups["kind"].Str());
        var names = groups["groups"]!.AsArray().Select(g => g!["name"].Str()).ToList();
        Assert.Contains("apps", names);
        Assert.Contains("networking.k8s.io", names);
        Assert.Contains("coordination.k8s.io", names);
        Assert.Contains("apiextensions.k8s.io", names);
        Assert.Contains("example.com", names);

        var (_, apps) = await Http.GetJsonAsync("/apis/apps/v1");
        Assert.Equal(new[] { "deployments", "deployments/scale", "deployments/status" }, apps["resources"]!.AsArray().Select(r => r!["name"].Str()!).ToArray());

        var (_, widgets) = await Http.GetJsonAsync("/apis/example.com/v1");
        var widget = widgets["resources"]!.AsArray().First()!;
        Assert.Equal(("widgets", "Widget", "wd"), (widget["name"].Str(), widget["kind"].Str(), widget["shortNames"]![0].Str()));
        Assert.Equal("widgets/status", widgets["resources"]![1]!["name"].Str());

        var (groupCode, group) = await Http.GetJsonAsync("/apis/example.com");
        Assert.Equal(HttpStatusCode.OK, groupCode);
        Assert.Equal("example.com/v1", group["preferredVersion"]!["groupVersion"].Str());

        var (_, version) = await Http.GetJsonAsync("/version");
        Assert.Equal("1", version["major"].Str());
        Assert.StartsWith("v1.", version["gitVersion"].Str());
    }
}
