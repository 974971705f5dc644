using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

public sealed class CrudTests : FakeServerTest
{
    private const string Secrets = "/api/v1/namespaces/team/secrets";
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";

    [Fact]
    public async Task Create_sets_server_fields_and_get_returns_the_object()
    {
        var secret = KubeHttp.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"PASSWORD":"s3cret"}}""");
        var (code, created) = await Http.PostJsonAsync($"{Secrets}?fieldManager=userapi-operator", secret);

        Assert.Equal(HttpStatusCode.Created, code);
        var meta = created["metadata"]!.AsObject();
        Assert.True(Guid.TryParse(meta["uid"].Str(), out _));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", meta["creationTimestamp"].Str());
        Assert.True(long.Parse(created.Rv()) > 0);
        Assert.Equal(1, created.Generation());
        Assert.Equal("team", meta["namespace"].Str());
        Assert.Equal("Opaque", created["type"].Str());
        Assert.Null(created["stringData"]);
        Assert.Equal(Convert.ToBase64String("s3cret"u8.ToArray()), created["data"]!["PASSWORD"].Str());
        var managed = meta["managedFields"]!.AsArray().Single()!;
        Assert.Equal("userapi-operator", managed["manager"].Str());
        Assert.Equal("Update", managed["operation"].Str());

        var (getCode, fetched) = await Http.GetJsonAsync($"{Secrets}/db");
        Assert.Equal(HttpStatusCode.OK, getCode);
        Assert.Equal("Secret", fetched["kind"].Str());
        Assert.Equal("v1", fetched["apiVersion"].Str());
        Assert.Equal(created.Rv(), fetched.Rv());
    }

    [Fact]
    public async Task Missing_object_is_a_404_Status()
    {
        using var response = await Http.GetAsync($"{Secrets}/x");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"secrets \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"secrets"},"code":404}""",
            await response.Content.ReadAsStringAsync());

        var (deployCode, deploy) = await Http.GetJsonAsync("/apis/apps/v1/namespaces/team/deployments/web");
        Assert.Equal(HttpStatusCode.NotFound, deployCode);
        Assert.Equal("deployments.apps \"web\" not found", deploy["message"].Str());
        Assert.Equal("apps", deploy["details"]!["group"].Str());
    }

    [Fact]
    public async Task Unknown_resource_and_wrong_method_answer_Status()
    {
        var (code, body) = await Http.GetJsonAsync("/apis/nope.example.com/v1/namespaces/a/things");
        Assert.Equal(HttpStatusCode.NotFound, code);
        KubeHttp.AssertStatus(body, 404, "NotFound");

        var (postCode, post) = await Http.PostJsonAsync($"{ConfigMaps}/x", KubeHttp.ConfigMap("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, postCode);
        KubeHttp.AssertStatus(post, 405, "MethodNotAllowed");
    }

    [Fact]
    public async Task Second_create_is_AlreadyExists_and_generateName_makes_unique_names()
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("one"))).Code);
        var (code, body) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("one"));
        Assert.Equal(HttpStatusCode.Conflict, code);
        KubeHttp.AssertStatus(body, 409, "AlreadyExists");
        Assert.Equal("configmaps \"one\" already exists", body["message"].Str());

        var generated = KubeHttp.Parse("""{"metadata":{"generateName":"job-"},"data":{}}""");
        var (c1, a) = await Http.PostJsonAsync(ConfigMaps, generated);
        var (c2, b) = await Http.PostJsonAsync(ConfigMaps, generated);
        Assert.Equal(HttpStatusCode.Created, c1);
        Assert.Equal(HttpStatusCode.Created, c2);
        Assert.Matches("^job-[a-z0-9]{5}$", a["metadata"]!["name"].Str());
        Assert.NotEqual(a["metadata"]!["name"].Str(), b["metadata"]!["name"].Str());
    }

    [Fact]
    public async Task Namespace_in_the_path_wins_and_dry_run_stores_nothing()
    {
        var (code, created) = await Http.PostJsonAsync(ConfigMaps + "?dryRun=All", KubeHttp.ConfigMap("dry", ns: "elsewhere"));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("default", created["metadata"]!["namespace"].Str());
        Assert.Null(Api.Store.Get(KnownResources.ConfigMaps, "default", "dry"));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync($"{ConfigMaps}/dry")).Code);
    }

    [Fact]
    public async Task Invalid_name_is_422_with_a_field_cause()
    {
        var (code, body) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("Bad_Name"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        KubeHttp.AssertStatus(body, 422, "Invalid");
        Assert.StartsWith("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain", body["message"].Str());
        var cause = body["details"]!["causes"]![0]!;
        Assert.Equal("FieldValueInvalid", cause["reason"].Str());
        Assert.Equal("metadata.name", cause["field"].Str());
        Assert.Equal("ConfigMap", body["details"]!["kind"].Str());
    }

    [Fact]
    public async Task Put_with_a_stale_resourceVersion_is_a_409_Conflict()
    {
        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("cm"));
        var first = (JsonObject)created.DeepClone();
        first["data"]!["k"] = "first";
        var (okCode, updated) = await Http.PutJsonAsync($"{ConfigMaps}/cm", first);
        Assert.Equal(HttpStatusCode.OK, okCode);
        Assert.NotEqual(created.Rv(), updated.Rv());
        Assert.Equal(2, updated.Generation());

        var stale = (JsonObject)created.DeepClone();
        stale["data"]!["k"] = "second";
        var (code, body) = await Http.PutJsonAsync($"{ConfigMaps}/cm", stale);
        Assert.Equal(HttpStatusCode.Conflict, code);
        KubeHttp.AssertStatus(body, 409, "Conflict");
        Assert.Equal(
            "Operation cannot be fulfilled on configmaps \"cm\": the object has been modified; please apply your changes to the latest version and try again",
            body["message"].Str());

        // Without a resourceVersion the update is unconditional.
        stale["metadata"]!.AsObject().Remove("resourceVersion");
        var (unconditional, result) = await Http.PutJsonAsync($"{ConfigMaps}/cm", stale);
        Assert.Equal(HttpStatusCode.OK, unconditional);
        Assert.Equal("second", result["data"]!["k"].Str());
    }

    [Fact]
    public async Task Put_of_a_missing_object_is_404_and_identical_put_changes_nothing()
    {
        var (missing, _) = await Http.PutJsonAsync($"{ConfigMaps}/ghost", KubeHttp.ConfigMap("ghost"));
        Assert.Equal(HttpStatusCode.NotFound, missing);

        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("same"));
        var (code, again) = await Http.PutJsonAsync($"{ConfigMaps}/same", created);
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(created.Rv(), again.Rv());
        Assert.Equal(created.Rv(), Api.Store.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Merge_patch_sets_and_removes_fields()
    {
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("m", data: new JsonObject { ["a"] = "1", ["b"] = "2" }));

        var (code, patched) = await Http.MergePatchAsync($"{ConfigMaps}/m",
            KubeHttp.Parse("""{"metadata":{"labels":{"tier":"web"}},"data":{"a":null,"c":"3"}}"""));

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("""{"b":"2","c":"3"}""", patched["data"]!.ToJsonString());
        Assert.Equal("web", patched["metadata"]!["labels"]!["tier"].Str());

        var (conflict, _) = await Http.MergePatchAsync($"{ConfigMaps}/m", KubeHttp.Parse("""{"metadata":{"resourceVersion":"1"},"data":{"x":"y"}}"""));
        Assert.Equal(HttpStatusCode.Conflict, conflict);

        var (jsonPatch, result) = await Http.SendAsync(HttpMethod.Patch, $"{ConfigMaps}/m",
            """[{"op":"test","path":"/data/b","value":"2"},{"op":"replace","path":"/data/b","value":"two"}]""", "application/json-patch+json");
        Assert.Equal(HttpStatusCode.OK, jsonPatch);
        Assert.Equal("two", result["data"]!["b"].Str());

        var (unknown, unknownBody) = await Http.SendAsync(HttpMethod.Patch, $"{ConfigMaps}/m", """{"data":{"z":"1"}}""", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, unknown);
        KubeHttp.AssertStatus(unknownBody, 415, "UnsupportedMediaType");
    }

    [Fact]
    public async Task Delete_answers_Success_and_the_object_is_gone()
    {
        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("gone"));
        var (code, body) = await Http.DeleteJsonAsync($"{ConfigMaps}/gone");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Success", body["status"].Str());
        Assert.Equal(created["metadata"]!["uid"].Str(), body["details"]!["uid"].Str());
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync($"{ConfigMaps}/gone")).Code);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.DeleteJsonAsync($"{ConfigMaps}/gone")).Code);
    }

    [Fact]
    public async Task Built_in_defaults_are_applied()
    {
        var service = KubeHttp.Parse("""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
             "spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":8000,"targetPort":"http"}]}}
            """);
        var (code, svc) = await Http.PostJsonAsync("/api/v1/namespaces/default/services", service);
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("ClusterIP", svc["spec"]!["type"].Str());
        Assert.Equal("None", svc["spec"]!["sessionAffinity"].Str());
        Assert.StartsWith("10.96.", svc["spec"]!["clusterIP"].Str());
        Assert.Equal("TCP", svc["spec"]!["ports"]![0]!["protocol"].Str());

        var deployment = KubeHttp.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"selector":{"matchLabels":{"app":"web"}},
                     "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"api","image":"userapi:1.0"}]}}}}
            """);
        var (dcode, deploy) = await Http.PostJsonAsync("/apis/apps/v1/namespaces/default/deployments", deployment);
        Assert.Equal(HttpStatusCode.Created, dcode);
        var spec = deploy["spec"]!;
        Assert.Equal(1, spec["replicas"]!.GetValue<int>());
        Assert.Equal("RollingUpdate", spec["strategy"]!["type"].Str());
        Assert.Equal("25%", spec["strategy"]!["rollingUpdate"]!["maxSurge"].Str());
        Assert.Equal(10, spec["revisionHistoryLimit"]!.GetValue<int>());
        Assert.Equal(600, spec["progressDeadlineSeconds"]!.GetValue<int>());
        Assert.Equal("IfNotPresent", spec["template"]!["spec"]!["containers"]![0]!["imagePullPolicy"].Str());

        var bad = (JsonObject)deployment.DeepClone();
        bad["metadata"]!["name"] = "bad";
        bad["spec"]!["template"]!["metadata"]!["labels"]!["app"] = "other";
        var (badCode, badBody) = await Http.PostJsonAsync("/apis/apps/v1/namespaces/default/deployments", bad);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badCode);
        Assert.Equal("spec.template.metadata.labels", badBody["details"]!["causes"]![0]!["field"].Str());
    }
}
