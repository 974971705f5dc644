using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// The ServiceAccount admission plugin on Pod creation, compared with what kube-apiserver stores:
/// the defaulted ServiceAccount, the kube-api-access projected volume and its read-only mounts, the
/// automount choices of Pod and ServiceAccount, image pull secrets, and the refusal of a Pod whose
/// ServiceAccount does not exist.
/// </summary>
public sealed class ServiceAccountAdmissionTests : FakeServerTest
{
    private const string Pods = "/api/v1/namespaces/default/pods";

    protected override FakeKubeApiServerOptions CreateOptions() => new() { EmulateCluster = true, UseTls = true, EnableAuthorization = true };

    [Fact]
    public async Task A_pod_gets_the_default_service_account_and_its_token_volume_in_every_container()
    {
        var (code, pod) = await Http.PostJsonAsync(Pods, Pod("web", containers: ["api", "db"], initContainers: ["init"]));
        Assert.Equal(HttpStatusCode.Created, code);
        var spec = pod["spec"]!;
        Assert.Equal("default", spec["serviceAccountName"].Str());
        Assert.Equal("default", spec["serviceAccount"].Str());

        var volume = spec["volumes"]!.AsArray().Single()!;
        var name = volume["name"].Str()!;
        Assert.Matches("^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$", name);
        var expected = KubeHttp.Parse("""
            {"sources":[
              {"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},
              {"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},
              {"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],
             "defaultMode":420}
            """);
        Assert.True(JsonNode.DeepEquals(expected, volume["projected"]), volume["projected"]!.ToJsonString());

        foreach (var container in spec["containers"]!.AsArray().Concat(spec["initContainers"]!.AsArray()))
        {
            var mount = container!["volumeMounts"]!.AsArray().Single()!;
            Assert.Equal(name, mount["name"].Str());
            Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount", mount["mountPath"].Str());
            Assert.True(mount["readOnly"]!.GetValue<bool>());
        }

        // Each Pod gets its own volume name.
        var (_, other) = await Http.PostJsonAsync(Pods, Pod("web-2", containers: ["api"]));
        Assert.NotEqual(name, other["spec"]!["volumes"]![0]!["name"].Str());
    }

    [Theory]
    [InlineData(false, null, false)]
    [InlineData(null, false, false)]
    [InlineData(true, false, true)]
    [InlineData(null, true, true)]
    public async Task Automount_follows_the_pod_then_the_service_account(bool? podChoice, bool? accountChoice, bool mounted)
    {
        var account = new JsonObject { ["metadata"] = new JsonObject { ["name"] = "robot" } };
        if (accountChoice is { } a) account["automountServiceAccountToken"] = a;
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts", account)).Code);

        var pod = Pod("p", containers: ["c"]);
        pod["spec"]!["serviceAccountName"] = "robot";
        if (podChoice is { } p) pod["spec"]!["automountServiceAccountToken"] = p;
        var (code, created) = await Http.PostJsonAsync(Pods, pod);
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(mounted, created["spec"]!["volumes"] is JsonArray { Count: > 0 });
        Assert.Equal(mounted, created["spec"]!["containers"]![0]!["volumeMounts"] is JsonArray { Count: > 0 });
    }

    [Fact]
    public async Task A_container_that_mounts_something_at_the_path_keeps_it()
    {
        var pod = Pod("p", containers: ["own", "plain"]);
        pod["spec"]!["volumes"] = new JsonArray(new JsonObject { ["name"] = "mine", ["emptyDir"] = new JsonObject() });
        pod["spec"]!["containers"]![0]!["volumeMounts"] = new JsonArray(new JsonObject
        {
            ["name"] = "mine",
            ["mountPath"] = "/var/run/secrets/kubernetes.io/serviceaccount",
        });
        var (_, created) = await Http.PostJsonAsync(Pods, pod);
        var containers = created["spec"]!["containers"]!.AsArray();
        Assert.Equal("mine", containers[0]!["volumeMounts"]!.AsArray().Single()!["name"].Str());
        Assert.StartsWith("kube-api-access-", containers[1]!["volumeMounts"]!.AsArray().Single()!["name"].Str(), StringComparison.Ordinal);
        Assert.Equal(2, created["spec"]!["volumes"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_pod_of_a_missing_service_account_is_forbidden_and_image_pull_secrets_come_from_the_account()
    {
        var pod = Pod("p", containers: ["c"]);
        pod["spec"]!["serviceAccountName"] = "ghost";
        var (code, status) = await Http.PostJsonAsync(Pods, pod);
        Assert.Equal(HttpStatusCode.Forbidden, code);
        KubeHttp.AssertStatus(status, 403, "Forbidden");
        Assert.Equal("pods \"p\" is forbidden: error looking up service account default/ghost: serviceaccount \"ghost\" not found", status["message"].Str());

        await Http.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts", KubeHttp.Parse("""
            {"metadata":{"name":"puller"},"imagePullSecrets":[{"name":"registry"}]}
            """));
        var generated = Pod("", containers: ["c"]);
        generated["metadata"] = new JsonObject { ["generateName"] = "gen-" };
        generated["spec"]!["serviceAccountName"] = "puller";
        var (createdCode, created) = await Http.PostJsonAsync(Pods, generated);
        Assert.Equal(HttpStatusCode.Created, createdCode);
        Assert.Equal("registry", created["spec"]!["imagePullSecrets"]![0]!["name"].Str());
    }

    internal static JsonObject Pod(string name, string[] containers, string[]? initContainers = null, string? nodeName = null)
    {
        static JsonArray List(IEnumerable<string> names) =>
            [.. names.Select(n => (JsonNode)new JsonObject { ["name"] = n, ["image"] = "busybox" })];
        var spec = new JsonObject { ["containers"] = List(containers) };
        if (initContainers is not null) spec["initContainers"] = List(initContainers);
        if (nodeName is not null) spec["nodeName"] = nodeName;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = spec,
        };
    }
}
