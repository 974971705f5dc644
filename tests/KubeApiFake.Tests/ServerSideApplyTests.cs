using System.Net;

namespace KubeApiFake.Tests;

public sealed class ServerSideApplyTests : FakeServerTest
{
    private const string Deployments = "/apis/apps/v1/namespaces/default/deployments";

    private static string Deployment(int replicas, string image = "userapi:1.0", string? extraLabel = null) => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels:
            app.kubernetes.io/name: user-api
        {{(extraLabel is null ? "" : $"    extra: \"{extraLabel}\"")}}
        spec:
          replicas: {{replicas}}
          selector:
            matchLabels:
              app: web
          strategy:
            type: RollingUpdate
            rollingUpdate:
              maxSurge: 1
              maxUnavailable: 0
          template:
            metadata:
              labels:
                app: web
            spec:
              containers:
              - name: api
                image: {{image}}
                ports:
                - name: http
                  containerPort: 8000
        """;

    [Fact]
    public async Task Apply_creates_then_a_repeat_is_a_no_op_then_a_change_bumps_generation()
    {
        var (createCode, created) = await Http.ApplyAsync($"{Deployments}/web", Deployment(3), "userapi-operator", force: true);
        Assert.Equal(HttpStatusCode.Created, createCode);
        Assert.Equal(1, created.Generation());
        Assert.Equal(1, created["spec"]!["strategy"]!["rollingUpdate"]!["maxSurge"]!.GetValue<int>());
        var entry = created["metadata"]!["managedFields"]!.AsArray().Single()!;
        Assert.Equal("Apply", entry["operation"].Str());
        Assert.NotNull(entry["fieldsV1"]!["f:spec"]!["f:replicas"]);

        await using var watch = await WatchStream.OpenAsync(Http, $"{Deployments}?watch=true&resourceVersion={created.Rv()}");
        Api.ClearRequests();

        var (noopCode, noop) = await Http.ApplyAsync($"{Deployments}/web", Deployment(3), "userapi-operator", force: true);
        Assert.Equal(HttpStatusCode.OK, noopCode);
        Assert.Equal(created.Rv(), noop.Rv());
        Assert.Equal(1, noop.Generation());

        // The next event is the one of the change below: the no-op sent none (it would come first).
        var (changeCode, changed) = await Http.ApplyAsync($"{Deployments}/web", Deployment(5), "userapi-operator", force: true);
        Assert.Equal(HttpStatusCode.OK, changeCode);
        Assert.Equal(2, changed.Generation());
        Assert.NotEqual(created.Rv(), changed.Rv());
        var ev = await watch.NextAsync();
        Assert.Equal("MODIFIED", ev["type"].Str());
        Assert.Equal(5, ev["object"]!["spec"]!["replicas"]!.GetValue<int>());

        // A label-only change moves resourceVersion but not generation.
        var (_, relabeled) = await Http.ApplyAsync($"{Deployments}/web", Deployment(5, extraLabel: "x"), "userapi-operator", force: true);
        Assert.Equal(2, relabeled.Generation());
        Assert.NotEqual(changed.Rv(), relabeled.Rv());

        Assert.Equal(3, Api.WriteRequests.Count);
        Assert.All(Api.WriteRequests, r => Assert.Equal("application/apply-patch+yaml", r.ContentType));
    }

    [Fact]
    public async Task Apply_removes_fields_the_manager_no_longer_applies_but_keeps_others()
    {
        const string path = "/api/v1/namespaces/default/configmaps/settings";
        var (code, _) = await Http.ApplyAsync(path, """
            {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","labels":{"a":"1","b":"2"}},"data":{"keep":"1","drop":"2"}}
            """, "op");
        Assert.Equal(HttpStatusCode.Created, code);

        // Another actor adds a field with a plain update; it becomes that manager's.
        var (patchCode, _) = await Http.SendAsync(HttpMethod.Patch, path + "?fieldManager=human", """{"data":{"theirs":"x"}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, patchCode);

        var (_, applied) = await Http.ApplyAsync(path, """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              labels:
                a: "1"
            data:
              keep: "1"
            """, "op");

        Assert.Equal("""{"keep":"1","theirs":"x"}""", applied["data"]!.ToJsonString());
        Assert.Equal("""{"a":"1"}""", applied["metadata"]!["labels"]!.ToJsonString());
        var managers = applied["metadata"]!["managedFields"]!.AsArray().Select(m => m!["manager"].Str()).ToList();
        Assert.Equal(["op", "human"], managers);
    }

    [Fact]
    public async Task Apply_requires_a_field_manager_and_reports_conflicts_unless_forced()
    {
        const string path = "/api/v1/namespaces/default/configmaps/shared";
        var body = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"k":"mine"}}""";

        var (noManager, error) = await Http.SendAsync(HttpMethod.Patch, path, body, "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.BadRequest, noManager);
        KubeHttp.AssertStatus(error, 400, "BadRequest");

        Assert.Equal(HttpStatusCode.Created, (await Http.ApplyAsync(path, body, "first")).Code);
        var other = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"k":"theirs"}}""";
        var (conflict, status) = await Http.ApplyAsync(path, other, "second");
        Assert.Equal(HttpStatusCode.Conflict, conflict);
        KubeHttp.AssertStatus(status, 409, "Conflict");
        Assert.Equal("Apply failed with 1 conflict: conflict with \"first\": .data.k", status["message"].Str());
        Assert.Equal(".data.k", status["details"]!["causes"]![0]!["field"].Str());

        var (forced, result) = await Http.ApplyAsync(path, other, "second", force: true);
        Assert.Equal(HttpStatusCode.OK, forced);
        Assert.Equal("theirs", result["data"]!["k"].Str());
    }

    [Fact]
    public async Task Keyed_lists_merge_by_name()
    {
        await Http.ApplyAsync($"{Deployments}/web", Deployment(1), "op");
        var patched = await Http.SendAsync(HttpMethod.Patch, $"{Deployments}/web?fieldManager=sidecar-injector", """
            {"spec":{"template":{"spec":{"containers":[
              {"name":"api","image":"userapi:1.0","ports":[{"name":"http","containerPort":8000}]},
              {"name":"sidecar","image":"proxy:1"}]}}}}
            """, "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, patched.Code);

        var (_, applied) = await Http.ApplyAsync($"{Deployments}/web", Deployment(1, image: "userapi:2.0"), "op");
        var containers = applied["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Equal(["api", "sidecar"], containers.Select(c => c!["name"].Str()).ToList());
        Assert.Equal("userapi:2.0", containers[0]!["image"].Str());
    }
}
