using System.Net;

namespace KubeApiFake.Tests;

public sealed class CustomResourceTests : FakeServerTest
{
    [Fact]
    public async Task Creating_a_CRD_serves_the_custom_resource_with_schema_defaults()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync(Widgets.Collection)).Code);
        await Widgets.InstallAsync(Http);

        var (crdCode, crd) = await Http.GetJsonAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com");
        Assert.Equal(HttpStatusCode.OK, crdCode);
        Assert.Contains(crd["status"]!["conditions"]!.AsArray(), c => c!["type"].Str() == "Established" && c["status"].Str() == "True");

        var (code, created) = await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse(
            Widgets.Widget("w1", """{"ports":[{"name":"http"}],"unknownField":true}""")));
        Assert.Equal(HttpStatusCode.Created, code);
        var spec = created["spec"]!;
        Assert.Equal(3, spec["replicas"]!.GetValue<int>());
        Assert.Equal("small", spec["size"].Str());
        Assert.Equal(80, spec["ports"]![0]!["port"]!.GetValue<int>());
        Assert.Null(spec["unknownField"]);

        // spec itself is defaulted when absent ({} then its properties' defaults).
        var (_, bare) = await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse("""{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"bare"}}"""));
        Assert.Equal(3, bare["spec"]!["replicas"]!.GetValue<int>());

        // As on a real server, custom resources do not take strategic merge patches.
        var (smp, smpBody) = await Http.SendAsync(HttpMethod.Patch, $"{Widgets.Collection}/w1", """{"spec":{"replicas":4}}""",
            "application/strategic-merge-patch+json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, smp);
        KubeHttp.AssertStatus(smpBody, 415, "UnsupportedMediaType");

        var (_, list) = await Http.GetJsonAsync(Widgets.Collection);
        Assert.Equal("WidgetList", list["kind"].Str());
        Assert.Equal("Widget", list["items"]![0]!["kind"].Str());
    }

    [Fact]
    public async Task Schema_violations_are_422_with_field_causes()
    {
        await Widgets.InstallAsync(Http);

        var (code, body) = await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse(Widgets.Widget("big", """{"replicas":500}""")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        KubeHttp.AssertStatus(body, 422, "Invalid");
        Assert.Equal(
            "Widget.example.com \"big\" is invalid: spec.replicas: Invalid value: 500: spec.replicas in body should be less than or equal to 100",
            body["message"].Str());
        var cause = body["details"]!["causes"]!.AsArray().Single()!;
        Assert.Equal("spec.replicas", cause["field"].Str());
        Assert.Equal("FieldValueInvalid", cause["reason"].Str());
        Assert.Equal("example.com", body["details"]!["group"].Str());
        Assert.Equal("Widget", body["details"]!["kind"].Str());

        var (multi, multiBody) = await Http.PostJsonAsync(Widgets.Collection,
            KubeHttp.Parse(Widgets.Widget("bad", """{"size":"huge","color":"Red","replicas":"three"}""")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, multi);
        var fields = multiBody["details"]!["causes"]!.AsArray().Select(c => $"{c!["field"].Str()}:{c["reason"].Str()}").OrderBy(x => x).ToList();
        Assert.Equal(["spec.color:FieldValueInvalid", "spec.replicas:FieldValueTypeInvalid", "spec.size:FieldValueNotSupported"], fields);

        // Apply of a sample with few fields gets the defaults; a bound violation through apply is rejected too.
        var (applyCode, applied) = await Http.ApplyAsync($"{Widgets.Collection}/sample", """
            apiVersion: example.com/v1
            kind: Widget
            metadata:
              name: sample
            spec:
              color: blue
            """, "tester");
        Assert.Equal(HttpStatusCode.Created, applyCode);
        Assert.Equal(3, applied["spec"]!["replicas"]!.GetValue<int>());
        var (badApply, _) = await Http.ApplyAsync($"{Widgets.Collection}/sample", Widgets.Widget("sample", """{"replicas":-1}"""), "tester");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badApply);
    }

    [Fact]
    public async Task ApplyAsync_applies_a_multi_document_stream_like_kubectl()
    {
        await Widgets.InstallAsync(Http);

        var applied = await Api.ApplyAsync("""
            apiVersion: example.com/v1
            kind: Widget
            metadata: {name: one}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: two, namespace: team-a}
            stringData: {a: b}
            """);

        Assert.Equal(["one", "two"], applied.Select(o => o["metadata"]!["name"].Str()));
        Assert.Equal("default", applied[0]["metadata"]!["namespace"].Str());
        Assert.Equal(3, applied[0]["spec"]!["replicas"]!.GetValue<int>());
        Assert.Contains(applied[1]["metadata"]!["managedFields"]!.AsArray(), f => f!["manager"].Str() == "kubectl" && f["operation"].Str() == "Apply");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Api.ApplyAsync("apiVersion: example.com/v9\nkind: Gadget\nmetadata: {name: x}\n"));
        Assert.Contains("example.com/v9 Gadget is not served", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unchanged_invalid_fields_are_ratcheted_on_update()
    {
        await Widgets.InstallAsync(Http);
        // Stored under an older, looser schema.
        Api.Store.Put(new GroupVersionResource("example.com", "v1", "widgets"), KubeHttp.Parse(Widgets.Widget("old", """{"replicas":500}""")).AsObject());

        var (statusCode, _) = await Http.MergePatchAsync($"{Widgets.Collection}/old/status", KubeHttp.Parse("""{"status":{"phase":"Seen"}}"""));
        var (sameSpec, _) = await Http.MergePatchAsync($"{Widgets.Collection}/old", KubeHttp.Parse("""{"metadata":{"labels":{"a":"b"}}}"""));
        var (changed, body) = await Http.MergePatchAsync($"{Widgets.Collection}/old", KubeHttp.Parse("""{"spec":{"replicas":400}}"""));

        Assert.Equal(HttpStatusCode.OK, statusCode);
        Assert.Equal(HttpStatusCode.OK, sameSpec);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed);
        Assert.Contains("spec.replicas", body["message"].Str(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_fields_warn_by_default_and_fail_when_strict()
    {
        await Widgets.InstallAsync(Http);
        using var request = new HttpRequestMessage(HttpMethod.Post, Widgets.Collection)
        {
            Content = new StringContent(Widgets.Widget("warned", """{"bogus":1}"""), System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("299 - \"unknown field \\\"spec.bogus\\\"\"", response.Headers.GetValues("Warning"));

        var (strict, body) = await Http.SendAsync(HttpMethod.Post, Widgets.Collection + "?fieldValidation=Strict", Widgets.Widget("strict", """{"bogus":1}"""));
        Assert.Equal(HttpStatusCode.BadRequest, strict);
        Assert.Equal("strict decoding error: unknown field \"spec.bogus\"", body["message"].Str());
    }

    [Fact]
    public async Task Deleting_the_CRD_stops_serving_and_removes_its_objects()
    {
        await Widgets.InstallAsync(Http);
        await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse(Widgets.Widget("w")));

        var (code, _) = await Http.DeleteJsonAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync(Widgets.Collection)).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync("/apis/example.com/v1")).Code);
        Assert.Null(Api.Store.FindResource("example.com", "v1", "widgets"));
        Assert.DoesNotContain(Api.Store.ResourceTypes, t => t.Group == "example.com");
    }

    [Fact]
    public async Task RegisterResource_serves_a_type_without_a_CRD()
    {
        Api.RegisterResource(new ResourceType("test.example.com", "v1", "gadgets", "Gadget", Namespaced: false));
        var (code, created) = await Http.PostJsonAsync("/apis/test.example.com/v1/gadgets",
            KubeHttp.Parse("""{"apiVersion":"test.example.com/v1","kind":"Gadget","metadata":{"name":"g"},"spec":{"x":1}}"""));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Null(created["metadata"]!["namespace"]);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/apis/test.example.com/v1/gadgets/g")).Code);
        var stored = Api.Store.Get(new GroupVersionResource("test.example.com", "v1", "gadgets"), null, "g");
        Assert.Equal(1, stored!["spec"]!["x"]!.GetValue<int>());
    }
}
