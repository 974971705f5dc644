using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Tests.Client;

public sealed class KubernetesClientTests : IAsyncLifetime
{
    private ScriptedApiServer _server = null!;
    private KubernetesClient _client = null!;
    private readonly RecordingObserver _observer = new();

    public async Task InitializeAsync()
    {
        _server = await ScriptedApiServer.StartAsync();
        _client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri, AccessToken = "static-token" }, _observer);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static V1Secret Secret(string name, string? resourceVersion = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Namespace = "team-a", ResourceVersion = resourceVersion },
        Type = "Opaque",
        Data = new Dictionary<string, byte[]> { ["MYSQL_PASSWORD"] = "s3cret"u8.ToArray() },
    };

    [Fact]
    public async Task Get_sends_headers_and_reads_the_object()
    {
        _server.RespondJson(200, Secret("db", "42"));

        var secret = await _client.GetAsync<V1Secret>("db", "team-a", CancellationToken.None);

        Assert.NotNull(secret);
        Assert.Equal("42", secret.Metadata.ResourceVersion);
        Assert.Equal("s3cret"u8.ToArray(), secret.Data!["MYSQL_PASSWORD"]);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/api/v1/namespaces/team-a/secrets/db", request.Path);
        Assert.Equal("Bearer static-token", request.Header("Authorization"));
        Assert.Equal("application/json", request.Header("Accept"));
        Assert.Matches(@"^userapi-operator/\d+\.\d+\.\d+", request.Header("User-Agent"));
    }

    [Fact]
    public async Task Get_of_a_missing_object_is_null()
    {
        _server.RespondStatus(404, "NotFound", "secrets \\\"db\\\" not found");
        Assert.Null(await _client.GetAsync<V1Secret>("db", "team-a", CancellationToken.None));
    }

    [Fact]
    public async Task List_follows_continue_tokens_in_pages_of_500()
    {
        _server.Respond(200, """{"apiVersion":"v1","kind":"SecretList","metadata":{"resourceVersion":"100","continue":"page2"},"items":[{"metadata":{"name":"a","namespace":"x"}}]}""");
        _server.Respond(200, """{"apiVersion":"v1","kind":"SecretList","metadata":{"resourceVersion":"100","continue":""},"items":[{"metadata":{"name":"b","namespace":"y"}}]}""");

        var list = await _client.ListAsync<V1Secret>(null, "app.kubernetes.io/managed-by=userapi-operator", CancellationToken.None);

        Assert.Equal(["a", "b"], list.Items.Select(s => s.Metadata.Name));
        Assert.Equal("100", list.Metadata.ResourceVersion);
        Assert.True(string.IsNullOrEmpty(list.Metadata.Continue));
        var requests = _server.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal("/api/v1/secrets", r.Path));
        Assert.All(requests, r => Assert.Equal("500", r.Query["limit"]));
        Assert.All(requests, r => Assert.Equal("app.kubernetes.io/managed-by=userapi-operator", r.Query["labelSelector"]));
        Assert.False(requests[0].Query.ContainsKey("continue"));
        Assert.Equal("page2", requests[1].Query["continue"]);
        Assert.Contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Duserapi-operator", requests[0].RawTarget, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_in_a_namespace_of_a_custom_resource()
    {
        _server.Respond(200, """{"metadata":{"resourceVersion":"7"},"items":[]}""");
        var list = await _client.ListAsync<V1Alpha1UserApi>("team-a", null, CancellationToken.None);
        Assert.Empty(list.Items);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/apis/userapi.example.com/v1alpha1/namespaces/team-a/userapis", request.Path);
        Assert.False(request.Query.ContainsKey("labelSelector"));
    }

    [Fact]
    public async Task Apply_sends_a_server_side_apply_patch()
    {
        _server.RespondJson(200, Secret("db", "43"));

        var stored = await _client.ApplyAsync(Secret("db"), "userapi-operator", force: true, CancellationToken.None);

        Assert.Equal("43", stored.Metadata.ResourceVersion);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("/api/v1/namespaces/team-a/secrets/db", request.Path);
        Assert.Equal("application/apply-patch+yaml", request.ContentType);
        Assert.Equal("userapi-operator", request.Query["fieldManager"]);
        Assert.Equal("true", request.Query["force"]);
        var body = JsonNode.Parse(request.Body)!;
        Assert.Equal("v1", (string?)body["apiVersion"]);
        Assert.Equal("Secret", (string?)body["kind"]);
        Assert.Equal("db", (string?)body["metadata"]!["name"]);
        Assert.Equal("team-a", (string?)body["metadata"]!["namespace"]);
    }

    [Fact]
    public async Task Apply_without_force_and_argument_checks()
    {
        _server.RespondJson(200, Secret("db"));
        await _client.ApplyAsync(Secret("db"), "userapi-operator", force: false, CancellationToken.None);
        Assert.False(Assert.Single(_server.Requests).Query.ContainsKey("force"));

        await Assert.ThrowsAsync<ArgumentException>(() => _client.ApplyAsync(new V1Secret(), "m", true, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.ApplyAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "x" } }, "m", true, CancellationToken.None));
    }

    [Fact]
    public async Task Create_posts_to_the_collection()
    {
        _server.RespondJson(201, Secret("db", "1"));

        var created = await _client.CreateAsync(Secret("db"), "userapi-operator", CancellationToken.None);

        Assert.Equal("1", created.Metadata.ResourceVersion);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/v1/namespaces/team-a/secrets", request.Path);
        Assert.Equal("userapi-operator", request.Query["fieldManager"]);
        Assert.Equal("application/json", request.ContentType);
        Assert.Equal("czNjcmV0", (string?)JsonNode.Parse(request.Body)!["data"]!["MYSQL_PASSWORD"]);
    }

    [Fact]
    public async Task Create_of_an_existing_name_is_already_exists()
    {
        _server.RespondStatus(409, "AlreadyExists", "secrets \\\"db\\\" already exists", details: """{"name":"db","kind":"secrets"}""");
        var error = await Assert.ThrowsAsync<KubernetesAlreadyExistsException>(() => _client.CreateAsync(Secret("db"), "m", CancellationToken.None));
        Assert.True(error.IsAlreadyExists);
        Assert.Equal("POST", error.Method);
    }

    [Fact]
    public async Task Events_are_created_through_create()
    {
        var userApi = new V1Alpha1UserApi { Metadata = new V1ObjectMeta { Name = "alpha", Namespace = "team-a", Uid = "u-1" } };
        _server.Respond(201, """{"apiVersion":"v1","kind":"Event","metadata":{"name":"alpha.1","namespace":"team-a"}}""");
        var created = await _client.CreateAsync(
            new V1Event
            {
                Metadata = new V1ObjectMeta { Name = "alpha.1", Namespace = "team-a" },
                InvolvedObject = V1ObjectReference.To(userApi),
                Reason = "Created",
                Message = "created secret alpha-mysql",
                Type = V1Event.TypeNormal,
                Source = new V1EventSource { Component = "userapi-operator" },
                FirstTimestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
                LastTimestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
                Count = 1,
                ReportingComponent = "userapi-operator",
                ReportingInstance = "pod-1",
                Action = "Reconcile",
            },
            "userapi-operator",
            CancellationToken.None);
        Assert.Equal("alpha.1", created.Metadata.Name);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("/api/v1/namespaces/team-a/events", request.Path);
        var body = JsonNode.Parse(request.Body)!;
        Assert.Equal("UserApi", (string?)body["involvedObject"]!["kind"]);
        Assert.Equal("userapi.example.com/v1alpha1", (string?)body["involvedObject"]!["apiVersion"]);
        Assert.Equal("u-1", (string?)body["involvedObject"]!["uid"]);
        Assert.Equal("2026-01-02T03:04:05Z", (string?)body["firstTimestamp"]);
        Assert.Equal("userapi-operator", (string?)body["source"]!["component"]);
        Assert.Equal("userapi-operator", (string?)body["reportingComponent"]);
        Assert.Equal("Normal", (string?)body["type"]);
    }

    [Fact]
    public async Task Update_status_puts_to_the_status_subresource_with_the_resource_version()
    {
        var userApi = new V1Alpha1UserApi
        {
            Metadata = new V1ObjectMeta { Name = "alpha", Namespace = "team-a", ResourceVersion = "9" },
            Status = new UserApiStatus { ObservedGeneration = 2 },
        };
        _server.Respond(200, """{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","metadata":{"name":"alpha","namespace":"team-a","resourceVersion":"10"},"spec":{},"status":{"observedGeneration":2}}""");

        var stored = await _client.UpdateStatusAsync(userApi, "userapi-operator", CancellationToken.None);

        Assert.Equal("10", stored.Metadata.ResourceVersion);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("PUT", request.Method);
        Assert.Equal("/apis/userapi.example.com/v1alpha1/namespaces/team-a/userapis/alpha/status", request.Path);
        Assert.Equal("userapi-operator", request.Query["fieldManager"]);
        Assert.Equal("9", (string?)JsonNode.Parse(request.Body)!["metadata"]!["resourceVersion"]);
        Assert.Equal(2, (int?)JsonNode.Parse(request.Body)!["status"]!["observedGeneration"]);

        userApi.Metadata.ResourceVersion = null;
        await Assert.ThrowsAsync<ArgumentException>(() => _client.UpdateStatusAsync(userApi, "userapi-operator", CancellationToken.None));
    }

    [Fact]
    public async Task Update_status_conflict_is_a_conflict_not_already_exists()
    {
        _server.RespondStatus(409, "Conflict", "Operation cannot be fulfilled on userapis.userapi.example.com \\\"alpha\\\": the object has been modified");
        var userApi = new V1Alpha1UserApi { Metadata = new V1ObjectMeta { Name = "alpha", Namespace = "team-a", ResourceVersion = "9" } };
        var error = await Assert.ThrowsAsync<KubernetesConflictException>(() => _client.UpdateStatusAsync(userApi, "m", CancellationToken.None));
        Assert.IsNotType<KubernetesAlreadyExistsException>(error);
        Assert.False(error.IsAlreadyExists);
        Assert.Equal("Conflict", error.Reason);
        Assert.Contains("the object has been modified", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_patches_use_the_merge_patch_content_type()
    {
        _server.Respond(200, """{"metadata":{"name":"alpha","namespace":"team-a"},"spec":{}}""");
        _server.Respond(200, """{"metadata":{"name":"alpha","namespace":"team-a"},"spec":{}}""");

        await _client.PatchStatusAsync<V1Alpha1UserApi>("alpha", "team-a", new JsonObject { ["status"] = new JsonObject { ["url"] = "http://x/" } }, "userapi-operator", CancellationToken.None);
        await _client.PatchAsync<V1Alpha1UserApi>("alpha", "team-a", new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["a"] = null } } }, CancellationToken.None);

        var requests = _server.Requests;
        Assert.Equal("PATCH", requests[0].Method);
        Assert.Equal("/apis/userapi.example.com/v1alpha1/namespaces/team-a/userapis/alpha/status", requests[0].Path);
        Assert.Equal("application/merge-patch+json", requests[0].ContentType);
        Assert.Equal("userapi-operator", requests[0].Query["fieldManager"]);
        Assert.Equal("""{"status":{"url":"http://x/"}}""", requests[0].Body);
        Assert.Equal("/apis/userapi.example.com/v1alpha1/namespaces/team-a/userapis/alpha", requests[1].Path);
        Assert.Equal("application/merge-patch+json", requests[1].ContentType);
        Assert.Equal("""{"metadata":{"labels":{"a":null}}}""", requests[1].Body);
    }

    [Fact]
    public async Task Delete_sends_the_propagation_policy_and_is_false_on_404()
    {
        _server.Respond(200, """{"kind":"Status","apiVersion":"v1","status":"Success"}""");
        _server.RespondStatus(404, "NotFound", "not found");

        Assert.True(await _client.DeleteAsync<V1Ingress>("alpha", "team-a", CancellationToken.None));
        Assert.False(await _client.DeleteAsync<V1Ingress>("alpha", "team-a", CancellationToken.None, "Foreground"));

        var requests = _server.Requests;
        Assert.Equal("DELETE", requests[0].Method);
        Assert.Equal("/apis/networking.k8s.io/v1/namespaces/team-a/ingresses/alpha", requests[0].Path);
        Assert.Equal("Background", requests[0].Query["propagationPolicy"]);
        Assert.Equal("Foreground", requests[1].Query["propagationPolicy"]);
    }

    [Fact]
    public async Task Names_are_escaped_on_the_wire()
    {
        _server.RespondStatus(404, "NotFound", "not found");
        await _client.GetAsync<V1Secret>("we ird", "team-a", CancellationToken.None);
        Assert.Equal("/api/v1/namespaces/team-a/secrets/we%20ird", Assert.Single(_server.Requests).RawTarget);
    }

    [Fact]
    public async Task The_observer_sees_method_verb_resource_code_and_duration()
    {
        _server.RespondJson(200, Secret("db"));
        _server.RespondStatus(500, "InternalError", "etcd timeout");
        await _client.GetAsync<V1Secret>("db", "team-a", CancellationToken.None);
        await Assert.ThrowsAsync<KubernetesApiException>(() => _client.PatchStatusAsync<V1Alpha1UserApi>("a", "team-a", new JsonObject(), "m", CancellationToken.None));

        var seen = _observer.Requests.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Equal(("GET", "get", "secrets", "team-a", "200"), (seen[0].Method, seen[0].Verb, seen[0].Resource, seen[0].Namespace, seen[0].CodeLabel));
        Assert.Equal(("PATCH", "patch", "userapis/status", "500"), (seen[1].Method, seen[1].Verb, seen[1].Resource, seen[1].CodeLabel));
        Assert.All(seen, r => Assert.True(r.Duration >= TimeSpan.Zero));
    }

    [Fact]
    public async Task A_watch_is_reported_with_the_watch_verb()
    {
        _server.Respond(200, "");
        await foreach (var unused in _client.WatchAsync<V1Deployment>(null, null, "1", CancellationToken.None))
        {
        }

        var seen = Assert.Single(_observer.Requests);
        Assert.Equal(("GET", "watch", "deployments", null, 200), (seen.Method, seen.Verb, seen.Resource, seen.Namespace, seen.StatusCode));
    }

    [Fact]
    public async Task A_transport_failure_is_reported_with_the_error_code_label()
    {
        var observer = new RecordingObserver();
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = new Uri("http://127.0.0.1:1") }, observer);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync<V1Secret>("db", "x", CancellationToken.None));
        Assert.True(KubernetesErrors.IsTransient(error));
        Assert.Equal("<error>", Assert.Single(observer.Requests).CodeLabel);
    }

    [Fact]
    public async Task A_request_slower_than_the_timeout_is_a_transient_timeout()
    {
        _server.Handle(async context => await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted));
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri, RequestTimeout = TimeSpan.FromMilliseconds(200) });
        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.GetAsync<V1Secret>("db", "x", CancellationToken.None));
        Assert.True(KubernetesErrors.IsTransient(error));
    }

    [Fact]
    public async Task Caller_cancellation_is_an_operation_canceled_exception_and_not_transient()
    {
        _server.Handle(async context => await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.GetAsync<V1Secret>("db", "x", cancel.Token));
        Assert.False(KubernetesErrors.IsTransient(error));
    }

    [Fact]
    public async Task Basic_authentication_is_sent_when_configured()
    {
        _server.RespondStatus(404, "NotFound", "x");
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri, Username = "admin", Password = "pw" });
        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);
        Assert.Equal("Basic YWRtaW46cHc=", Assert.Single(_server.Requests).Header("Authorization"));
    }

    [Fact]
    public async Task A_token_file_is_used_and_reread_after_its_refresh_interval()
    {
        using var dir = new TempDirectory();
        var tokenFile = dir.Write("token", "first\n");
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri, AccessToken = "fallback", TokenFile = tokenFile }, timeProvider: clock);
        for (var i = 0; i < 4; i++)
        {
            _server.RespondStatus(404, "NotFound", "x");
        }

        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);
        File.WriteAllText(tokenFile, "second");
        clock.Advance(TimeSpan.FromSeconds(30));
        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(31));
        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);
        File.Delete(tokenFile);
        clock.Advance(TimeSpan.FromMinutes(2));
        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);

        Assert.Equal(
            ["Bearer first", "Bearer first", "Bearer second", "Bearer second"],
            _server.Requests.Select(r => r.Header("Authorization")));
    }

    [Fact]
    public async Task A_401_makes_the_next_request_reread_the_token_file()
    {
        using var dir = new TempDirectory();
        var tokenFile = dir.Write("token", "old");
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri, TokenFile = tokenFile }, timeProvider: clock);
        _server.RespondStatus(401, "Unauthorized", "Unauthorized");
        _server.RespondStatus(404, "NotFound", "x");

        await Assert.ThrowsAsync<KubernetesUnauthorizedException>(() => client.GetAsync<V1Secret>("db", "x", CancellationToken.None));
        File.WriteAllText(tokenFile, "new");
        await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);

        Assert.Equal(["Bearer old", "Bearer new"], _server.Requests.Select(r => r.Header("Authorization")));
    }

    [Fact]
    public async Task A_kubeconfig_with_a_token_file_drives_a_real_request()
    {
        using var dir = new TempDirectory();
        dir.Write("token", "from-file");
        var path = dir.Write("config", $"""
            current-context: c
            clusters:
            - name: k
              cluster:
                server: "{_server.BaseUri}"
            users:
            - name: u
              user:
                tokenFile: token
            contexts:
            - name: c
              context:
                cluster: k
                user: u
                namespace: team-a
            """);
        var config = KubernetesClientConfiguration.BuildDefaultConfig(path);
        using var client = new KubernetesClient(config);
        _server.RespondJson(200, Secret("db"));

        await client.GetAsync<V1Secret>("db", config.Namespace, CancellationToken.None);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("Bearer from-file", request.Header("Authorization"));
        Assert.Equal("/api/v1/namespaces/team-a/secrets/db", request.Path);
    }

    private sealed class RecordingObserver : IKubernetesRequestObserver
    {
        public ConcurrentQueue<KubernetesRequestInfo> Requests { get; } = new();

        public void OnRequestCompleted(KubernetesRequestInfo request) => Requests.Enqueue(request);
    }
}
