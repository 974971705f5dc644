using System.Text;
using System.Text.Json.Nodes;
using k8s.Autorest;
using KubeApiFake;
using UserApiOperator.Controllers;
using UserApiOperator.Runtime.Reconciliation;

namespace UserApiOperator.Tests.Controller;

/// <summary>
/// The controller's decisions, one reconcile at a time, against the fake API server with the
/// informers' caches (see <see cref="ControllerHarness"/>): what it writes, what it reads, what it reports.
/// </summary>
public sealed class UserApiControllerTests : IAsyncLifetime
{
    private ControllerHarness _h = null!;

    public async Task InitializeAsync() => _h = await ControllerHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    /// <summary><c>verb name</c> of a request, <c>verb name/status</c> for the status subresource.</summary>
    private static string Summary(RecordedRequest r)
    {
        var parts = r.Path.Split('/');
        return parts[^1] == "status" ? $"{r.Verb} {parts[^2]}/status" : $"{r.Verb} {parts[^1]}";
    }

    [Fact]
    public async Task A_new_UserApi_is_read_once_then_gets_its_secret_created_and_five_objects_applied_then_one_event()
    {
        await _h.CreateAsync("alpha");
        _h.Api.ClearRequests();

        var result = await _h.ReconcileAsync();

        // The status waits (bounded) for the Deployment controller's first report.
        Assert.Equal(FirstReportTracker.Wait, result.RequeueAfter);
        Assert.Null(_h.Status());
        Assert.Equal(["get alpha", "create alpha-mysql", "patch alpha", "patch alpha", "patch alpha", "patch alpha", "patch alpha", "create events"],
            _h.Requests.Select(r => r.Verb == "create" ? $"create {(r.Path.EndsWith("/events", StringComparison.Ordinal) ? "events" : (string?)JsonNode.Parse(r.Body!)!["metadata"]!["name"])}" : Summary(r)));
        Assert.Equal("userapi-operator", _h.Requests[2].QueryParameter("fieldManager"));
        Assert.Equal("true", _h.Requests[2].QueryParameter("force"));
        Assert.Equal("application/apply-patch+yaml", _h.Requests[2].ContentType?.Split(';')[0]);
        var secret = _h.Api.Store.Get(KnownResources.Secrets, ControllerHarness.Ns, "alpha-mysql")!;
        Assert.True(Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]!["MYSQL_PASSWORD"]!)).Length >= 24);
        Assert.Equal([("Normal", "Created", "Created Secret alpha-mysql, created Deployment alpha, created Service alpha, created Ingress alpha, created PodDisruptionBudget alpha, created NetworkPolicy alpha")], _h.Events);

        // No report within the bound: the status is written anyway, and nothing else.
        await _h.SettledAsync();
        _h.Api.ClearRequests();
        _h.Time.Now += FirstReportTracker.Wait;
        Assert.Equal(ReconcileResult.Done, await _h.ReconcileAsync());
        Assert.Equal(["patch alpha/status"], _h.Requests.Select(Summary));
        var status = _h.Status()!;
        Assert.Equal("1", status["observedGeneration"]!.ToJsonString());
        Assert.Equal("alpha-mysql", (string?)status["secretName"]);
        Assert.Equal("app.kubernetes.io/name=user-api,app.kubernetes.io/instance=alpha", (string?)status["selector"]);
        Assert.Equal(["False", "True", "False"], status["conditions"]!.AsArray().Select(c => (string?)c!["status"]));
    }

    [Fact]
    public async Task The_first_status_is_written_as_soon_as_the_Deployment_controller_reports()
    {
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();
        _h.MarkDeploymentAvailable("alpha");
        await _h.SettledAsync();

        Assert.Equal(ReconcileResult.Done, await _h.ReconcileAsync());

        Assert.Equal("True", (string?)ControllerHarness.Condition(_h.Status(), Conditions.Ready)!["status"]);
    }

    [Fact]
    public async Task The_Ready_condition_says_why_a_Pod_of_this_UserApi_is_not_ready_and_stops_saying_it_once_it_is_scheduled()
    {
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();
        _h.Api.Store.UpdateStatus(KnownResources.Deployments, ControllerHarness.Ns, "alpha", d => d["status"] = new JsonObject
        {
            ["observedGeneration"] = 1, ["replicas"] = 3, ["updatedReplicas"] = 3, ["readyReplicas"] = 2, ["availableReplicas"] = 2,
        });
        var unschedulable = JsonNode.Parse("""
            {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
              "message": "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 Insufficient memory."}]}
            """)!.AsObject();
        await _h.PutPodAsync("alpha-5f7c9-aaaaa", "alpha", JsonNode.Parse("""{"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]}""")!.AsObject());
        await _h.PutPodAsync("alpha-5f7c9-bbbbb", "alpha", unschedulable);
        await _h.PutPodAsync("beta-6c8d7-ccccc", "beta", JsonNode.Parse("""
            {"phase": "Pending", "containerStatuses": [{"name": "api", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
              "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}
            """)!.AsObject());

        await _h.ReconcileAsync();

        var ready = ControllerHarness.Condition(_h.Status(), Conditions.Ready)!;
        Assert.Equal(("False", "Unschedulable"), ((string?)ready["status"], (string?)ready["reason"]));
        Assert.Equal(
            "2/3 replicas ready; Pod alpha-5f7c9-bbbbb cannot be scheduled: 0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, 2 Insufficient memory.",
            (string?)ready["message"]);

        _h.Api.Store.UpdateStatus(KnownResources.Pods, ControllerHarness.Ns, "alpha-5f7c9-bbbbb", p => p["status"] = new JsonObject
        {
            ["phase"] = "Pending", ["conditions"] = new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True" }),
        });
        await _h.SettledAsync();
        await _h.ReconcileAsync();

        ready = ControllerHarness.Condition(_h.Status(), Conditions.Ready)!;
        Assert.Equal(("False", "ReplicasNotReady", "2/3 replicas ready"), ((string?)ready["status"], (string?)ready["reason"], (string?)ready["message"]));
    }

    [Fact]
    public async Task When_everything_is_in_place_no_request_is_sent_at_all()
    {
        await _h.BringToReadyAsync();

        Assert.Equal(ReconcileResult.Done, await _h.ReconcileAsync());

        Assert.Empty(_h.Requests); // Not even a GET: the children come from the caches.
        Assert.Single(_h.Events);
    }

    [Fact]
    public async Task An_edited_child_is_applied_again_and_reported()
    {
        await _h.BringToReadyAsync();
        _h.Api.Store.Update(KnownResources.Services, ControllerHarness.Ns, "alpha", s => s["spec"]!["ports"]![0]!["port"] = 9999);
        await _h.SettledAsync();

        await _h.ReconcileAsync();

        Assert.Equal(["patch alpha", "create events"], _h.Writes.Select(Summary));
        Assert.Equal("8000", _h.Api.Store.Get(KnownResources.Services, ControllerHarness.Ns, "alpha")!["spec"]!["ports"]![0]!["port"]!.ToJsonString());
        Assert.Contains(("Normal", "Updated", "Updated Service alpha"), _h.Events);
    }

    [Fact]
    public async Task An_existing_password_is_never_replaced_and_a_removed_key_is_put_back()
    {
        await _h.BringToReadyAsync();
        var password = (string)_h.Api.Store.Get(KnownResources.Secrets, ControllerHarness.Ns, "alpha-mysql")!["data"]!["MYSQL_PASSWORD"]!;

        await _h.ReconcileAsync();
        Assert.Empty(_h.Writes);
        Assert.Equal(password, (string?)_h.Api.Store.Get(KnownResources.Secrets, ControllerHarness.Ns, "alpha-mysql")!["data"]!["MYSQL_PASSWORD"]);

        _h.Api.Store.Update(KnownResources.Secrets, ControllerHarness.Ns, "alpha-mysql", s => s["data"] = new JsonObject());
        await _h.SettledAsync();
        await _h.ReconcileAsync();

        Assert.Equal(["patch alpha-mysql", "create events"], _h.Writes.Select(Summary));
        Assert.NotNull(_h.Api.Store.Get(KnownResources.Secrets, ControllerHarness.Ns, "alpha-mysql")!["data"]!["MYSQL_PASSWORD"]);
    }

    [Fact]
    public async Task The_cache_holds_no_password()
    {
        await _h.BringToReadyAsync();

        var cached = _h.Cache.Get<k8s.Models.V1Secret>().Get(ControllerHarness.Ns, "alpha-mysql")!;

        Assert.Equal(["MYSQL_PASSWORD"], cached.Data.Keys);
        Assert.Empty(cached.Data["MYSQL_PASSWORD"]);
        Assert.Null(cached.Metadata.ManagedFields);
    }

    [Fact]
    public async Task An_invalid_spec_applies_nothing_reports_Degraded_InvalidSpec_once()
    {
        await _h.PutUnvalidatedAsync("alpha", new JsonObject { ["replicas"] = 500, ["ingress"] = new JsonObject { ["host"] = "Not A Host" } });

        Assert.Equal(ReconcileResult.Done, await _h.ReconcileAsync());

        Assert.Equal(["patch alpha/status", "create events"], _h.Writes.Select(r => r.Verb == "create" ? "create events" : Summary(r)));
        var degraded = ControllerHarness.Condition(_h.Status(), Conditions.Degraded)!;
        Assert.Equal(("True", "InvalidSpec"), ((string?)degraded["status"], (string?)degraded["reason"]));
        Assert.Contains("spec.replicas: must be at most 100, got 500", (string?)degraded["message"], StringComparison.Ordinal);
        Assert.Contains("spec.ingress.host", (string?)degraded["message"], StringComparison.Ordinal);
        Assert.Equal([("Warning", "InvalidSpec")], _h.Events.Select(e => (e.Type, e.Reason)));

        await _h.SettledAsync();
        _h.Api.ClearRequests();
        await _h.ReconcileAsync();
        Assert.Empty(_h.Requests);
        Assert.Single(_h.Events);
    }

    [Fact]
    public async Task A_missing_referenced_secret_gives_Degraded_SecretNotFound_and_a_recheck_but_still_applies()
    {
        await _h.CreateAsync("alpha", "{database: {passwordSecretRef: {name: shared-db}}}");
        _h.Api.ClearRequests();

        var result = await _h.ReconcileAsync();

        Assert.Equal(UserApiController.MissingSecretRecheck, result.RequeueAfter);
        Assert.Equal(["get alpha", "get shared-db"], _h.Requests.Where(r => !r.IsWrite).Select(Summary)); // A referenced Secret is not ours, so not cached.
        Assert.DoesNotContain(_h.Writes, r => r.Path.Contains("/secrets", StringComparison.Ordinal));
        Assert.Equal(5, _h.Writes.Count(r => r.Verb == "patch" && !r.Path.EndsWith("/status", StringComparison.Ordinal)));
        var status = _h.Status()!;
        Assert.Equal("shared-db", (string?)status["secretName"]);
        var degraded = ControllerHarness.Condition(status, Conditions.Degraded)!;
        Assert.Equal("spec.database.passwordSecretRef: Secret default/shared-db not found", (string?)degraded["message"]);
        Assert.Contains(_h.Events, e => e is ("Warning", "SecretNotFound", _));
    }

    [Fact]
    public async Task A_referenced_secret_without_the_key_is_reported()
    {
        await _h.Api.ApplyAsync("apiVersion: v1\nkind: Secret\nmetadata: {name: shared-db, namespace: default}\nstringData: {other: x}\n");
        await _h.CreateAsync("alpha", "{database: {passwordSecretRef: {name: shared-db, key: root}}}");

        await _h.ReconcileAsync();

        Assert.Equal("spec.database.passwordSecretRef: Secret default/shared-db has no key \"root\"", (string?)ControllerHarness.Condition(_h.Status(), Conditions.Degraded)!["message"]);
    }

    [Fact]
    public async Task A_child_controlled_by_something_else_is_left_alone_and_reported()
    {
        await _h.BringToReadyAsync();
        _h.Api.Store.Update(KnownResources.Services, ControllerHarness.Ns, "alpha", s =>
        {
            s["metadata"]!["ownerReferences"] = JsonNode.Parse("""[{"apiVersion":"apps/v1","kind":"Deployment","name":"other","uid":"other-uid","controller":true}]""");
            s["spec"]!["ports"]![0]!["port"] = 1234;
        });
        await _h.SettledAsync();

        await _h.ReconcileAsync();

        Assert.Equal(["patch alpha/status", "create events"], _h.Writes.Select(r => r.Verb == "create" ? "create events" : Summary(r)));
        var degraded = ControllerHarness.Condition(_h.Status(), Conditions.Degraded)!;
        Assert.Equal("OwnershipConflict", (string?)degraded["reason"]);
        Assert.Contains("Service default/alpha is controlled by Deployment other", (string?)degraded["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_the_ingress_deletes_ours_but_not_one_we_do_not_control()
    {
        await _h.BringToReadyAsync();
        await _h.Api.ApplyAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: alpha, namespace: default}\nspec: {ingress: {enabled: false}}\n");
        await _h.SettledAsync();

        await _h.ReconcileAsync();

        Assert.Contains("delete alpha", _h.Writes.Select(Summary));
        Assert.Null(_h.Api.Store.Get(KnownResources.Ingresses, ControllerHarness.Ns, "alpha"));
        Assert.Contains(("Normal", "Updated", "Deleted Ingress alpha"), _h.Events);

        await _h.Api.ApplyAsync("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: alpha, namespace: default, labels: {app.kubernetes.io/managed-by: userapi-operator}}\nspec: {defaultBackend: {service: {name: x, port: {number: 80}}}}\n");
        await _h.SettledAsync();
        _h.Api.ClearRequests();
        await _h.ReconcileAsync();
        Assert.DoesNotContain(_h.Writes, r => r.Verb == "delete");
        Assert.NotNull(_h.Api.Store.Get(KnownResources.Ingresses, ControllerHarness.Ns, "alpha"));
    }

    [Theory]
    [InlineData("ingresses", "{ingress: {enabled: false}}")]
    [InlineData("networkpolicies", "{networkPolicy: {enabled: false}}")]
    [InlineData("poddisruptionbudgets", "{disruptionBudget: {enabled: false}}")]
    public async Task A_child_whose_delete_failed_is_deleted_by_the_retry(string resource, string spec)
    {
        await _h.BringToReadyAsync();
        await _h.Api.ApplyAsync($"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: alpha, namespace: default}}\nspec: {spec}\n");
        await _h.SettledAsync();
        _h.Api.FailNext(1, 503, r => r.Method == "DELETE" && r.Path.EndsWith($"/{resource}/alpha", StringComparison.Ordinal));

        await Assert.ThrowsAsync<HttpOperationException>(() => _h.ReconcileAsync());
        var gvr = new[] { KnownResources.Ingresses, KnownResources.NetworkPolicies, KnownResources.PodDisruptionBudgets }.Single(k => k.Resource == resource);
        Assert.NotNull(_h.Api.Store.Get(gvr, ControllerHarness.Ns, "alpha")); // Still there after the 503.
        await _h.ReconcileAsync(); // The retry, before any watch event could tell the cache anything new.

        Assert.Null(_h.Api.Store.Get(gvr, ControllerHarness.Ns, "alpha"));
    }

    [Fact]
    public async Task A_failure_is_reported_once_per_distinct_error_and_rethrown()
    {
        await _h.CreateAsync("alpha");
        _h.Api.FailNext(2, 500, r => r.Method == "PATCH");

        await Assert.ThrowsAsync<HttpOperationException>(() => _h.ReconcileAsync());
        await Assert.ThrowsAsync<HttpOperationException>(() => _h.ReconcileAsync());

        var warning = Assert.Single(_h.Events, e => e.Reason == "ReconcileFailed");
        Assert.Equal("Warning", warning.Type);
        Assert.StartsWith("HttpOperationException: ", warning.Message, StringComparison.Ordinal);
    }
}
