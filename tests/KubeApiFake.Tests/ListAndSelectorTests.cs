using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

public sealed class ListAndSelectorTests : FakeServerTest
{
    private async Task SeedAsync()
    {
        async Task Add(string ns, string name, string? tier, string? env)
        {
            var labels = new JsonObject();
            if (tier is not null) labels["tier"] = tier;
            if (env is not null) labels["env"] = env;
            var (code, _) = await Http.PostJsonAsync($"/api/v1/namespaces/{ns}/configmaps", KubeHttp.ConfigMap(name, ns, labels: labels));
            Assert.Equal(HttpStatusCode.Created, code);
        }
        await Add("a", "web", "front", "prod");
        await Add("a", "api", "back", "prod");
        await Add("a", "db", "data", null);
        await Add("b", "cache", "back", "dev");
    }

    private async Task<string[]> NamesAsync(string path)
    {
        var (code, list) = await Http.GetJsonAsync(path);
        Assert.Equal(HttpStatusCode.OK, code);
        return list["items"]!.AsArray().Select(i => i!["metadata"]!["name"].Str()!).ToArray();
    }

    [Theory]
    [InlineData("tier=back", "api")]
    [InlineData("tier==front", "web")]
    [InlineData("tier!=back", "db,web")]
    [InlineData("tier in (front,data)", "db,web")]
    [InlineData("tier notin (front)", "api,db")]
    [InlineData("env", "api,web")]
    [InlineData("!env", "db")]
    [InlineData("env=prod,tier=back", "api")]
    public async Task Label_selectors_filter_lists(string selector, string expected)
    {
        await SeedAsync();
        var names = await NamesAsync($"/api/v1/namespaces/a/configmaps?labelSelector={Uri.EscapeDataString(selector)}");
        Assert.Equal(expected.Split(','), names);
    }

    [Fact]
    public async Task List_has_kind_resourceVersion_and_all_namespaces_form()
    {
        await SeedAsync();
        var (_, list) = await Http.GetJsonAsync("/api/v1/configmaps?labelSelector=tier%3Dback");
        Assert.Equal("ConfigMapList", list["kind"].Str());
        Assert.Equal("v1", list["apiVersion"].Str());
        Assert.Equal(Api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), list["metadata"]!["resourceVersion"].Str());
        var items = list["items"]!.AsArray();
        Assert.Equal(["a/api", "b/cache"], items.Select(i => $"{i!["metadata"]!["namespace"].Str()}/{i["metadata"]!["name"].Str()}"));
        Assert.Null(items[0]!["kind"]);
    }

    [Fact]
    public async Task Field_selectors_and_their_errors()
    {
        await SeedAsync();
        Assert.Equal(["db"], await NamesAsync("/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Ddb"));
        Assert.Equal(["cache"], await NamesAsync("/api/v1/configmaps?fieldSelector=metadata.namespace%21%3Da"));

        var (code, body) = await Http.GetJsonAsync("/api/v1/configmaps?fieldSelector=spec.foo%3D1");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        KubeHttp.AssertStatus(body, 400, "BadRequest");
        Assert.Equal("field label not supported: spec.foo", body["message"].Str());

        var (badLabel, _) = await Http.GetJsonAsync("/api/v1/configmaps?labelSelector=a%20in%20b");
        Assert.Equal(HttpStatusCode.BadRequest, badLabel);
    }

    [Fact]
    public async Task Limit_and_continue_page_through_a_list()
    {
        await SeedAsync();
        var (_, page1) = await Http.GetJsonAsync("/api/v1/configmaps?limit=3");
        Assert.Equal(3, page1["items"]!.AsArray().Count);
        Assert.Equal(1, page1["metadata"]!["remainingItemCount"]!.GetValue<int>());
        var token = page1["metadata"]!["continue"].Str()!;
        var (_, page2) = await Http.GetJsonAsync($"/api/v1/configmaps?limit=3&continue={Uri.EscapeDataString(token)}");
        Assert.Equal(["cache"], page2["items"]!.AsArray().Select(i => i!["metadata"]!["name"].Str()));
        Assert.Null(page2["metadata"]!["continue"]);
    }
}
