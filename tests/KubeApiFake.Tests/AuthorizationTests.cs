using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// Authentication and RBAC authorisation over real HTTP, checked against what kube-apiserver
/// answers: verbs as RequestInfoFactory maps them, the extra <c>create</c> check of an apply that
/// creates, subresources, resourceNames, Role vs ClusterRole bindings, subjects, 401/403 bodies.
/// </summary>
public sealed class AuthorizationTests : FakeServerTest
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";

    protected override FakeKubeApiServerOptions CreateOptions() => new() { EnableAuthorization = true };

    public static TheoryData<string, string, string> VerbMappings() => new()
    {
        { "GET", $"{ConfigMaps}/c1", "get" },
        { "GET", $"{ConfigMaps}/c1?watch=true", "get" },
        { "GET", ConfigMaps, "list" },
        { "GET", $"{ConfigMaps}?watch=false", "list" },
        { "GET", $"{ConfigMaps}?watch=true", "watch" },
        { "GET", $"{ConfigMaps}?watch=1&resourceVersion=0", "watch" },
        { "GET", "/api/v1/watch/namespaces/default/configmaps", "watch" },
        { "GET", "/api/v1/watch/namespaces/default/configmaps/c1", "watch" },
        { "POST", ConfigMaps, "create" },
        { "PUT", $"{ConfigMaps}/c1", "update" },
        { "PATCH", $"{ConfigMaps}/c1", "patch" },
        { "DELETE", $"{ConfigMaps}/c1", "delete" },
        { "DELETE", ConfigMaps, "deletecollection" },
    };

    [Theory]
    [MemberData(nameof(VerbMappings))]
    public async Task Each_request_is_authorised_as_its_kubernetes_verb(string method, string pathAndQuery, string verb)
    {
        await CreateAsync(ConfigMaps, KubeHttp.ConfigMap("c1"));
        var all = new[] { "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection" };
        var only = await ServiceAccountWithRoleAsync("default", "only", Rule([""], ["configmaps"], [verb]));
        var allBut = await ServiceAccountWithRoleAsync("default", "all-but", Rule([""], ["configmaps"], [.. all.Where(v => v != verb)]));

        var (allowedCode, _) = await SendRawAsync(only, method, pathAndQuery, BodyFor(method));
        Assert.NotEqual(HttpStatusCode.Forbidden, allowedCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, allowedCode);

        var (deniedCode, denied) = await SendRawAsync(allBut, method, pathAndQuery, BodyFor(method));
        Assert.Equal(HttpStatusCode.Forbidden, deniedCode);
        var status = KubeHttp.Parse(denied);
        KubeHttp.AssertStatus(status, 403, "Forbidden");
        Assert.Contains($"cannot {verb} resource \"configmaps\" in API group \"\" in the namespace \"default\"", status["message"].Str(), StringComparison.Ordinal);
        Assert.Equal(KubeUser.ServiceAccountUserName("default", "all-but"), Api.Requests.Last().User?.Name);
    }

    [Fact]
    public async Task A_watch_streams_only_when_watch_is_granted()
    {
        var lister = await ServiceAccountWithRoleAsync("default", "lister", Rule([""], ["configmaps"], ["list"]));
        var watcher = await ServiceAccountWithRoleAsync("default", "watcher", Rule([""], ["configmaps"], ["list", "watch"]));

        var (denied, body) = await SendRawAsync(lister, "GET", $"{ConfigMaps}?watch=true&resourceVersion=0");
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal(
            "configmaps is forbidden: User \"system:serviceaccount:default:lister\" cannot watch resource \"configmaps\" in API group \"\" in the namespace \"default\"",
            KubeHttp.Parse(body)["message"].Str());
        Assert.Equal(0, Api.ActiveWatchCount);

        using var http = Api.CreateClient(watcher);
        await using var watch = await WatchStream.OpenAsync(http, $"{ConfigMaps}?watch=true&resourceVersion={Api.Store.ResourceVersion}");
        await CreateAsync(ConfigMaps, KubeHttp.ConfigMap("seen"));
        var ev = await watch.NextAsync();
        Assert.Equal("ADDED", ev["type"].Str());
        Assert.Equal("seen", ev["object"]!["metadata"]!["name"].Str());
    }

    [Fact]
    public async Task Server_side_apply_that_creates_is_authorised_as_create_too()
    {
        var patcher = await ServiceAccountWithRoleAsync("default", "patcher", Rule([""], ["configmaps"], ["patch"]));
        var creator = await ServiceAccountWithRoleAsync("default", "creator", Rule([""], ["configmaps"], ["patch", "create"]));
        const string Apply = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"k":"v"}}""";

        // patch alone passes the filter, then the create check refuses: errors.NewForbidden with the
        // authorizer's (empty) reason, as handlers/update.go withAuthorization writes it.
        var (code, body) = await SendRawAsync(patcher, "PATCH", $"{ConfigMaps}/applied?fieldManager=op&force=true", Apply, "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        var status = KubeHttp.Parse(body);
        KubeHttp.AssertStatus(status, 403, "Forbidden");
        Assert.Equal("configmaps \"applied\" is forbidden: ", status["message"].Str());
        Assert.Equal("""{"name":"applied","kind":"configmaps"}""", status["details"]!.ToJsonString());
        Assert.Null(Api.Store.Get(KnownResources.ConfigMaps, "default", "applied"));

        // Dry-run creates are authorised the same way.
        (code, _) = await SendRawAsync(patcher, "PATCH", $"{ConfigMaps}/applied?fieldManager=op&dryRun=All", Apply, "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.Forbidden, code);

        (code, body) = await SendRawAsync(creator, "PATCH", $"{ConfigMaps}/applied?fieldManager=op&force=true", Apply, "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(["patch", "create"], Api.Requests.Last(r => r.StatusCode == 201).Verbs);

        // Once it exists, patch alone is enough.
        (code, body) = await SendRawAsync(patcher, "PATCH", $"{ConfigMaps}/applied?fieldManager=op&force=true",
            Apply.Replace("\"v\"", "\"v2\"", StringComparison.Ordinal), "application/apply-patch+yaml");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("v2", KubeHttp.Parse(body)["data"]!["k"].Str());
        Assert.Equal(["patch"], Api.Requests.Last().Verbs);

        // Other patch types never create: a missing object is 404, with no create check.
        (code, body) = await SendRawAsync(patcher, "PATCH", $"{ConfigMaps}/absent", """{"data":{"k":"v"}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.NotFound, code);
        KubeHttp.AssertStatus(KubeHttp.Parse(body), 404, "NotFound");
    }

    [Fact]
    public async Task Subresources_are_authorised_apart_from_their_resource()
    {
        await Widgets.InstallAsync(Http);
        await CreateAsync(Widgets.Collection, KubeHttp.Parse(Widgets.Widget("w1")));
        var status = await ServiceAccountWithRoleAsync("default", "status-writer", Rule(["example.com"], ["widgets/status"], ["get", "patch"]));
        var anyStatus = await ServiceAccountWithRoleAsync("default", "any-status", Rule(["*"], ["*/status"], ["patch"]));
        var slashStar = await ServiceAccountWithRoleAsync("default", "slash-star", Rule(["example.com"], ["widgets/*"], ["patch"]));
        var scaler = await ServiceAccountWithRoleAsync("default", "scaler", Rule(["example.com"], ["widgets/scale"], ["get"]));
        const string StatusPatch = """{"status":{"ready":true}}""";

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(status, "PATCH", $"{Widgets.Collection}/w1/status", StatusPatch, "application/merge-patch+json")).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(status, "GET", $"{Widgets.Collection}/w1/status")).Code);
        var (mainCode, mainBody) = await SendRawAsync(status, "PATCH", $"{Widgets.Collection}/w1", """{"spec":{"replicas":1}}""", "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Forbidden, mainCode);
        Assert.Equal(
            "widgets.example.com \"w1\" is forbidden: User \"system:serviceaccount:default:status-writer\" cannot patch resource \"widgets\" in API group \"example.com\" in the namespace \"default\"",
            KubeHttp.Parse(mainBody)["message"].Str());

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(anyStatus, "PATCH", $"{Widgets.Collection}/w1/status", StatusPatch, "application/merge-patch+json")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(anyStatus, "PATCH", $"{Widgets.Collection}/w1", StatusPatch, "application/merge-patch+json")).Code);

        // "widgets/*" is not a pattern in RBAC (evaluation_helpers.go ResourceMatches): it matches nothing.
        var (starCode, starBody) = await SendRawAsync(slashStar, "PATCH", $"{Widgets.Collection}/w1/status", StatusPatch, "application/merge-patch+json");
        Assert.Equal(HttpStatusCode.Forbidden, starCode);
        Assert.Contains("cannot patch resource \"widgets/status\" in API group \"example.com\"", KubeHttp.Parse(starBody)["message"].Str(), StringComparison.Ordinal);

        // Authorisation comes before routing: a granted subresource the fake does not serve is 404, an ungranted one 403.
        Assert.Equal(HttpStatusCode.NotFound, (await SendRawAsync(scaler, "GET", $"{Widgets.Collection}/w1/scale")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(status, "GET", $"{Widgets.Collection}/w1/scale")).Code);
    }

    [Fact]
    public async Task ResourceNames_limit_a_rule_to_named_objects()
    {
        await CreateAsync(ConfigMaps, KubeHttp.ConfigMap("mine"));
        await CreateAsync(ConfigMaps, KubeHttp.ConfigMap("theirs"));
        var token = await ServiceAccountWithRoleAsync("default", "named", Rule([""], ["configmaps"], ["get", "list", "watch", "update"], resourceNames: ["mine"]));

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(token, "GET", $"{ConfigMaps}/mine")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(token, "GET", $"{ConfigMaps}/theirs")).Code);

        // A list names no object, unless a metadata.name field selector does (requestinfo.go).
        var (listCode, listBody) = await SendRawAsync(token, "GET", ConfigMaps);
        Assert.Equal(HttpStatusCode.Forbidden, listCode);
        Assert.Equal("""{"kind":"configmaps"}""", KubeHttp.Parse(listBody)["details"]!.ToJsonString());
        var (selectedCode, selected) = await SendRawAsync(token, "GET", $"{ConfigMaps}?fieldSelector=metadata.name%3Dmine");
        Assert.Equal(HttpStatusCode.OK, selectedCode);
        Assert.Equal("mine", KubeHttp.Parse(selected)["items"]![0]!["metadata"]!["name"].Str());
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(token, "GET", $"{ConfigMaps}?fieldSelector=metadata.name%3Dtheirs")).Code);

        // create has no name in its path: a resourceNames rule cannot grant it.
        var creator = await ServiceAccountWithRoleAsync("default", "named-creator", Rule([""], ["configmaps"], ["create"], resourceNames: ["new"]));
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(creator, "POST", ConfigMaps, KubeHttp.ConfigMap("new").ToJsonString())).Code);
    }

    [Fact]
    public async Task RoleBindings_grant_in_their_namespace_and_ClusterRoleBindings_everywhere()
    {
        await CreateAsync("/api/v1/namespaces", KubeHttp.Parse("""{"metadata":{"name":"other"}}"""));
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles", KubeHttp.Parse("""
            {"metadata":{"name":"secret-reader"},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}]}
            """));
        var local = Api.IssueServiceAccountToken("default", "local");
        var global = Api.IssueServiceAccountToken("ops", "global");
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Binding("RoleBinding", "local-reads", "ClusterRole", "secret-reader",
            """{"kind":"ServiceAccount","name":"local"}""")); // namespace defaults to the binding's
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", Binding("ClusterRoleBinding", "global-reads", "ClusterRole", "secret-reader",
            """{"kind":"ServiceAccount","name":"global","namespace":"ops"}"""));

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(local, "GET", "/api/v1/namespaces/default/secrets")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(local, "GET", "/api/v1/namespaces/other/secrets")).Code);
        var (allCode, allBody) = await SendRawAsync(local, "GET", "/api/v1/secrets");
        Assert.Equal(HttpStatusCode.Forbidden, allCode);
        Assert.Equal(
            "secrets is forbidden: User \"system:serviceaccount:default:local\" cannot list resource \"secrets\" in API group \"\" at the cluster scope",
            KubeHttp.Parse(allBody)["message"].Str());

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(global, "GET", "/api/v1/namespaces/other/secrets")).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(global, "GET", "/api/v1/secrets")).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(global, "POST", "/api/v1/namespaces/other/secrets", """{"metadata":{"name":"s"}}""")).Code);

        // A ServiceAccount subject names one ServiceAccount: the same name in another namespace is someone else.
        var impostor = Api.IssueServiceAccountToken("other", "local");
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(impostor, "GET", "/api/v1/namespaces/default/secrets")).Code);

        // A RoleBinding's Role is looked up in the binding's namespace.
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/other/roles", KubeHttp.Parse("""
            {"metadata":{"name":"cm"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["list"]}]}
            """));
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Binding("RoleBinding", "cm", "Role", "cm",
            """{"kind":"ServiceAccount","name":"local","namespace":"default"}"""));
        var (missingCode, missing) = await SendRawAsync(local, "GET", ConfigMaps);
        Assert.Equal(HttpStatusCode.Forbidden, missingCode);
        Assert.EndsWith(": RBAC: role.rbac.authorization.k8s.io \"cm\" not found", KubeHttp.Parse(missing)["message"].Str(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_and_group_subjects_match_the_authenticated_identity()
    {
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", KubeHttp.Parse("""
            {"metadata":{"name":"cm-reader"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get","list"]}]}
            """));
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Binding("RoleBinding", "people", "Role", "cm-reader",
            """{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"jane"}""",
            """{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"devs"}""",
            """{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"system:serviceaccounts:ci"}"""));

        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(Api.IssueToken("jane"), "GET", ConfigMaps)).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(Api.IssueToken("joe", "devs"), "GET", ConfigMaps)).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(Api.IssueServiceAccountToken("ci", "builder"), "GET", ConfigMaps)).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(Api.IssueToken("joe", "ops"), "GET", ConfigMaps)).Code);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(Api.IssueServiceAccountToken("cd", "builder"), "GET", ConfigMaps)).Code);

        // system:masters bypasses RBAC; the admin client is in it, and cluster-admin is bound to it too.
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/secrets")).Code);
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(Api.IssueToken("root", KubeUser.SystemMasters), "DELETE", $"{ConfigMaps}")).Code);
        var binding = Api.Store.Get(KnownResources.ClusterRoleBindings, null, "cluster-admin")!;
        Assert.Equal("system:masters", binding["subjects"]![0]!["name"].Str());
    }

    [Fact]
    public async Task Aggregated_cluster_roles_carry_the_rules_of_the_roles_they_select()
    {
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles", KubeHttp.Parse("""
            {"metadata":{"name":"monitoring"},"aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"example.com/aggregate-to-monitoring":"true"}}]},"rules":[]}
            """));
        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", Binding("ClusterRoleBinding", "monitoring", "ClusterRole", "monitoring",
            """{"kind":"ServiceAccount","name":"prom","namespace":"default"}"""));
        var token = Api.IssueServiceAccountToken("default", "prom");
        Assert.Equal(HttpStatusCode.Forbidden, (await SendRawAsync(token, "GET", "/api/v1/services")).Code);

        await CreateAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles", KubeHttp.Parse("""
            {"metadata":{"name":"services-view","labels":{"example.com/aggregate-to-monitoring":"true"}},
             "rules":[{"apiGroups":[""],"resources":["services"],"verbs":["list"]}]}
            """));
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(token, "GET", "/api/v1/services")).Code);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-token")]
    [InlineData("Basic a2luZDpraW5k")]
    public async Task Missing_or_unknown_credentials_are_401_Unauthorized(string? header)
    {
        using var http = new HttpClient { BaseAddress = Api.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces/default/configmaps");
        if (header is not null) request.Headers.TryAddWithoutValidation("Authorization", header.StartsWith("Basic", StringComparison.Ordinal) ? header : $"Bearer {header}");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}""",
            await response.Content.ReadAsStringAsync());
        Assert.Null(Api.Requests.Last().User);
        Assert.Equal(401, Api.Requests.Last().StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_stops_working()
    {
        var token = await ServiceAccountWithRoleAsync("default", "short-lived", Rule([""], ["configmaps"], ["list"]));
        Assert.Equal(HttpStatusCode.OK, (await SendRawAsync(token, "GET", ConfigMaps)).Code);
        Assert.True(Api.RevokeToken(token));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendRawAsync(token, "GET", ConfigMaps)).Code);
    }

    [Fact]
    public async Task An_authenticated_service_account_without_bindings_may_discover_but_not_read()
    {
        var token = Api.IssueServiceAccountToken("default", "nobody");
        foreach (var path in new[] { "/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version", "/openapi/v3", "/openapi/v3/apis/apps/v1", "/healthz", "/readyz", "/livez" })
        {
            var (code, body) = await SendRawAsync(token, "GET", path);
            Assert.True(code == HttpStatusCode.OK, $"{path}: {(int)code} {body}");
        }

        var (resourceCode, resource) = await SendRawAsync(token, "GET", "/apis/apps/v1/namespaces/default/deployments/web");
        Assert.Equal(HttpStatusCode.Forbidden, resourceCode);
        var status = KubeHttp.Parse(resource);
        Assert.Equal(
            "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:default:nobody\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"default\"",
            status["message"].Str());
        Assert.Equal("""{"name":"web","group":"apps","kind":"deployments"}""", status["details"]!.ToJsonString());

        var (pathCode, pathBody) = await SendRawAsync(token, "GET", "/metrics");
        Assert.Equal(HttpStatusCode.Forbidden, pathCode);
        var pathStatus = KubeHttp.Parse(pathBody);
        Assert.Equal("forbidden: User \"system:serviceaccount:default:nobody\" cannot get path \"/metrics\"", pathStatus["message"].Str());
        Assert.Equal("{}", pathStatus["details"]!.ToJsonString());

        var (putCode, _) = await SendRawAsync(token, "PUT", "/version", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, putCode);

        var logged = Api.Requests.Where(r => r.User is not null && r.User.Name.EndsWith(":nobody", StringComparison.Ordinal)).ToList();
        Assert.Equal(14, logged.Count);
        Assert.All(logged, r => Assert.Equal(["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"], r.User!.Groups));
    }

    private static JsonObject Rule(string[] groups, string[] resources, string[] verbs, string[]? resourceNames = null)
    {
        static JsonArray Array(IEnumerable<string> values) => [.. values.Select(v => (JsonNode)v)];
        var rule = new JsonObject { ["apiGroups"] = Array(groups), ["resources"] = Array(resources), ["verbs"] = Array(verbs) };
        if (resourceNames is not null) rule["resourceNames"] = Array(resourceNames);
        return rule;
    }

    private static JsonObject Binding(string kind, string name, string roleKind, string roleName, params string[] subjects) => KubeHttp.Parse($$"""
        {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"{{kind}}","metadata":{"name":"{{name}}"},
         "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"{{roleKind}}","name":"{{roleName}}"},
         "subjects":[{{string.Join(",", subjects)}}]}
        """);

    /// <summary>A Role with one rule bound to a new ServiceAccount of that namespace (through the admin client); returns the ServiceAccount's token.</summary>
    private async Task<string> ServiceAccountWithRoleAsync(string ns, string name, JsonObject rule)
    {
        await CreateAsync($"/api/v1/namespaces/{ns}/serviceaccounts", new JsonObject { ["metadata"] = new JsonObject { ["name"] = name } });
        await CreateAsync($"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
            new JsonObject { ["metadata"] = new JsonObject { ["name"] = name }, ["rules"] = new JsonArray(rule) });
        await CreateAsync($"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
            Binding("RoleBinding", name, "Role", name, $$"""{"kind":"ServiceAccount","name":"{{name}}","namespace":"{{ns}}"}"""));
        return Api.IssueServiceAccountToken(ns, name);
    }

    private async Task CreateAsync(string collection, JsonObject obj)
    {
        var (code, body) = await Http.PostJsonAsync(collection, obj);
        Assert.True(code == HttpStatusCode.Created, $"{collection}: {(int)code} {body.ToJsonString()}");
    }

    private static string? BodyFor(string method) => method switch
    {
        "POST" => KubeHttp.ConfigMap("c2").ToJsonString(),
        "PUT" => KubeHttp.ConfigMap("c1", data: new JsonObject { ["k"] = "updated" }).ToJsonString(),
        "PATCH" => """{"data":{"k":"patched"}}""",
        _ => null,
    };

    /// <summary>One request with a bearer token; reads only the headers of a streaming (watch) answer.</summary>
    private async Task<(HttpStatusCode Code, string Body)> SendRawAsync(string token, string method, string pathAndQuery, string? body = null,
        string contentType = "application/json")
    {
        using var http = Api.CreateClient(token);
        using var request = new HttpRequestMessage(new HttpMethod(method), pathAndQuery);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(method == "PATCH" && contentType == "application/json" ? "application/merge-patch+json" : contentType);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.Content.Headers.ContentLength is null && response.StatusCode == HttpStatusCode.OK && response.Headers.TransferEncodingChunked == true)
        {
            return (response.StatusCode, ""); // A watch stream: its status is the answer.
        }

        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
