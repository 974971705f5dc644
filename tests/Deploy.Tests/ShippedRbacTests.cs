using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KubeApiFake;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// The RBAC that <c>kubectl apply -k config/default</c> installs, proven against an authorising
/// API server: the rendered manifests are applied to the fake API server with RBAC on, and the
/// operator's ServiceAccount makes the calls the operator makes. A real kube-apiserver authorises a
/// server-side apply that creates its object as <c>create</c> as well as <c>patch</c>
/// (k8s.io/apiserver/pkg/endpoints/handlers/patch.go), so every kind the operator applies needs both.
/// </summary>
public sealed class ShippedRbacTests : IAsyncLifetime
{
    private const string Manager = "userapi-operator";
    private const string UserApis = "/apis/userapi.example.com/v1alpha1";

    private FakeKubeApiServer _api = null!;
    private HttpClient _admin = null!;
    private HttpClient _operator = null!;
    private string _leaseNamespace = "";

    public async Task InitializeAsync()
    {
        _api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { EnableAuthorization = true });
        await _api.ApplyAsync(RenderedManifests.Yaml);
        var (ns, name) = RenderedManifests.OperatorServiceAccount();
        Assert.Equal(("userapi-system", "userapi-operator-controller-manager"), (ns, name));
        Assert.NotNull(_api.Store.Get(KnownResources.ServiceAccounts, ns, name));
        _leaseNamespace = RenderedManifests.LeaderElectionNamespace();
        _admin = _api.CreateClient();
        _operator = _api.CreateClient(_api.IssueServiceAccountToken(ns, name));
        await AdminAsync(HttpMethod.Post, $"{UserApis}/namespaces/default/userapis", """
            {"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","metadata":{"name":"web"},"spec":{}}
            """);
    }

    public async Task DisposeAsync()
    {
        _operator.Dispose();
        _admin.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task The_operators_service_account_may_make_every_call_the_operator_makes()
    {
        var refused = new List<string>();
        async Task Expect(HttpStatusCode expected, string what, HttpMethod method, string pathAndQuery, string? body = null, string contentType = "application/json")
        {
            var (code, text) = await SendAsync(_operator, method, pathAndQuery, body, contentType);
            if (code != expected) refused.Add($"{what}: {(int)code} {text}");
        }

        // The informers: list and watch UserApis, every owned kind and the UserApis' Pods in all namespaces.
        foreach (var collection in new[] { $"{UserApis}/userapis", "/api/v1/secrets", "/api/v1/services", "/apis/apps/v1/deployments", "/apis/networking.k8s.io/v1/ingresses", "/api/v1/pods" })
        {
            await Expect(HttpStatusCode.OK, $"list {collection}", HttpMethod.Get, collection);
            await Expect(HttpStatusCode.OK, $"watch {collection}", HttpMethod.Get, $"{collection}?watch=true&resourceVersion=0&allowWatchBookmarks=true");
        }

        // The children, read from the informers' caches (never with a GET), first created then updated
        // by server-side apply (PATCH, apply-patch+yaml, force).
        var children = new (string What, string Collection, string Body)[]
        {
            ("Deployment", "/apis/apps/v1/namespaces/default/deployments", Deployment),
            ("Service", "/api/v1/namespaces/default/services", Service),
            ("Ingress", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", Ingress),
        };
        foreach (var (what, collection, body) in children)
        {
            var apply = $"{collection}/web?fieldManager={Manager}&force=true";
            await Expect(HttpStatusCode.Created, $"server-side apply that creates the {what}", HttpMethod.Patch, apply, body, "application/apply-patch+yaml");
            await Expect(HttpStatusCode.OK, $"server-side apply that updates the {what}", HttpMethod.Patch, apply, body, "application/apply-patch+yaml");
        }

        await Expect(HttpStatusCode.OK, "delete the Ingress (spec.ingress.enabled: false)", HttpMethod.Delete, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web");

        // The generated Secret: created once, read, and patched to put back a removed key.
        await Expect(HttpStatusCode.Created, "create the Secret", HttpMethod.Post, $"/api/v1/namespaces/default/secrets?fieldManager={Manager}",
            """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"web-mysql"},"stringData":{"MYSQL_PASSWORD":"x"}}""");
        await Expect(HttpStatusCode.OK, "get the Secret", HttpMethod.Get, "/api/v1/namespaces/default/secrets/web-mysql");
        await Expect(HttpStatusCode.OK, "patch the Secret", HttpMethod.Patch, $"/api/v1/namespaces/default/secrets/web-mysql?fieldManager={Manager}",
            """{"data":{"MYSQL_PASSWORD":"eQ=="}}""", "application/merge-patch+json");

        // The UserApi's status, through the /status subresource (merge patch).
        await Expect(HttpStatusCode.OK, "patch the UserApi status", HttpMethod.Patch, $"{UserApis}/namespaces/default/userapis/web/status?fieldManager={Manager}",
            """{"status":{"observedGeneration":1}}""", "application/merge-patch+json");

        // Events about the UserApi, in its namespace.
        await Expect(HttpStatusCode.Created, "create an Event", HttpMethod.Post, "/api/v1/namespaces/default/events", Event("default"));

        // Leader election, in the operator's own namespace: the Lease (read, created, renewed) and its Event.
        var leases = $"/apis/coordination.k8s.io/v1/namespaces/{_leaseNamespace}/leases";
        await Expect(HttpStatusCode.NotFound, "get the Lease", HttpMethod.Get, $"{leases}/userapi-operator");
        await Expect(HttpStatusCode.Created, "create the Lease", HttpMethod.Post, leases, Lease(null));
        var (_, lease) = await SendAsync(_operator, HttpMethod.Get, $"{leases}/userapi-operator");
        var rv = System.Text.Json.Nodes.JsonNode.Parse(lease)?["metadata"]?["resourceVersion"]?.GetValue<string>();
        await Expect(HttpStatusCode.OK, "renew the Lease", HttpMethod.Put, $"{leases}/userapi-operator", Lease(rv));
        await Expect(HttpStatusCode.Created, "create the leader-election Event", HttpMethod.Post, $"/api/v1/namespaces/{_leaseNamespace}/events", Event(_leaseNamespace));

        Assert.True(refused.Count == 0, "refused:\n" + string.Join("\n", refused));
        Assert.Empty(_api.ServerErrors);
    }

    [Theory]
    [InlineData("create a Lease outside the operator's namespace", "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", "get, create, update on leases in userapi-system only")]
    [InlineData("delete a Deployment", "DELETE", "/apis/apps/v1/namespaces/default/deployments/web", "children go with their owner (garbage collection)")]
    [InlineData("update (PUT) a UserApi's status", "PUT", UserApis + "/namespaces/default/userapis/web/status", "status is merge-patched")]
    [InlineData("patch a UserApi", "PATCH", UserApis + "/namespaces/default/userapis/web", "the operator never writes the spec")]
    [InlineData("get a ConfigMap", "GET", "/api/v1/namespaces/default/configmaps/x", "unused kind")]
    [InlineData("update (PUT) a Secret", "PUT", "/api/v1/namespaces/default/secrets/web-mysql", "the Secret is created, then patched")]
    [InlineData("get a Pod", "GET", "/api/v1/namespaces/default/pods/web-1", "Pods are only listed and watched")]
    [InlineData("delete a Pod", "DELETE", "/api/v1/namespaces/default/pods/web-1", "Pods are never written")]
    [InlineData("create a ClusterRole", "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "no RBAC writes")]
    public async Task The_operators_service_account_may_do_nothing_else(string what, string method, string path, string why)
    {
        var (code, body) = await SendAsync(_operator, new HttpMethod(method), path, method is "GET" or "DELETE" ? null : "{}",
            method == "PATCH" ? "application/merge-patch+json" : "application/json");
        Assert.True(code == HttpStatusCode.Forbidden, $"{what} ({why}) was not refused: {(int)code} {body}");
        var message = System.Text.Json.Nodes.JsonNode.Parse(body)?["message"]?.GetValue<string>();
        Assert.Contains("is forbidden: User \"system:serviceaccount:userapi-system:userapi-operator-controller-manager\" cannot", message, StringComparison.Ordinal);
    }

    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: default}
        spec:
          selector: {matchLabels: {app.kubernetes.io/name: user-api, app.kubernetes.io/instance: web}}
          template:
            metadata: {labels: {app.kubernetes.io/name: user-api, app.kubernetes.io/instance: web}}
            spec:
              containers:
              - {name: api, image: "userapi:latest", ports: [{name: http, containerPort: 8000}]}
        """;

    private const string Service = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          selector: {app.kubernetes.io/name: user-api, app.kubernetes.io/instance: web}
          ports: [{name: http, port: 8000, targetPort: http}]
        """;

    private const string Ingress = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web, namespace: default}
        spec:
          ingressClassName: nginx
          rules:
          - http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8000}}}}
        """;

    private static string Event(string ns) => $$$"""
        {"apiVersion":"v1","kind":"Event","metadata":{"generateName":"web.","namespace":"{{{ns}}}"},
         "involvedObject":{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","namespace":"default","name":"web"},
         "reason":"Reconciled","message":"ok","type":"Normal","source":{"component":"userapi-operator"}}
        """;

    private static string Lease(string? resourceVersion) => $$$"""
        {"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
         "metadata":{"name":"userapi-operator"{{{(resourceVersion is null ? "" : $",\"resourceVersion\":\"{resourceVersion}\"")}}}},
         "spec":{"holderIdentity":"pod-a","leaseDurationSeconds":15}}
        """;

    private async Task AdminAsync(HttpMethod method, string path, string body)
    {
        var (code, text) = await SendAsync(_admin, method, path, body, "application/json");
        Assert.True((int)code < 300, $"{method} {path}: {(int)code} {text}");
    }

    /// <summary>One request; a watch's answer is judged by its status line (the stream is not read).</summary>
    private static async Task<(HttpStatusCode Code, string Body)> SendAsync(HttpClient http, HttpMethod method, string pathAndQuery, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return pathAndQuery.Contains("watch=true", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.OK
            ? (response.StatusCode, "")
            : (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
