using System.Text;
using System.Text.Json.Nodes;
using KubeApiFake;
using Microsoft.Extensions.Logging;
using UserApiOperator.Hosting;

namespace UserApiOperator.Tests.Live;

/// <summary>The real operator against the fake API server over loopback HTTP.</summary>
public sealed class LiveOperatorTests
{
    private const string Sample = "userapi-sample";

    private static string Owner(JsonObject child) => (string)child["metadata"]!["ownerReferences"]![0]!["name"]!;

    [Fact]
    public async Task The_sample_gets_four_owned_objects_then_Ready_once_the_deployment_is_available()
    {
        await using var live = await LiveOperator.StartAsync();

        await live.ApplySampleAsync();

        var userApi = await live.WaitForConditionAsync(Sample, "Progressing", "True");
        var uid = (string)userApi["metadata"]!["uid"]!;
        var secret = await live.WaitForAsync(KnownResources.Secrets, "userapi-sample-mysql", _ => true);
        var deployment = await live.WaitForAsync(KnownResources.Deployments, Sample, _ => true);
        var service = await live.WaitForAsync(KnownResources.Services, Sample, _ => true);
        var ingress = await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);
        foreach (var child in new[] { secret, deployment, service, ingress })
        {
            var owner = child["metadata"]!["ownerReferences"]![0]!;
            Assert.Equal((uid, true, true), ((string)owner["uid"]!, (bool)owner["controller"]!, (bool)owner["blockOwnerDeletion"]!));
            Assert.Equal("userapi-operator", (string?)child["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]);
        }

        Assert.Equal(3, (int)deployment["spec"]!["replicas"]!);
        Assert.Equal("userapi-sample-mysql", (string?)deployment["spec"]!["template"]!["spec"]!["containers"]![1]!["env"]![3]!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.Equal("http", (string?)service["spec"]!["ports"]![0]!["targetPort"]);
        Assert.Equal("nginx", (string?)ingress["spec"]!["ingressClassName"]);
        // Server-side apply under our field manager.
        Assert.Contains(deployment["metadata"]!["managedFields"]!.AsArray(), f => (string?)f!["manager"] == "userapi-operator" && (string?)f["operation"] == "Apply");

        live.MarkDeploymentAvailable(Sample);

        userApi = await live.WaitForConditionAsync(Sample, "Ready", "True");
        var status = userApi["status"]!;
        Assert.Equal((3, 3), ((int)status["replicas"]!, (int)status["readyReplicas"]!));
        Assert.Equal("userapi-sample-mysql", (string?)status["secretName"]);
        Assert.Equal("app.kubernetes.io/name=user-api,app.kubernetes.io/instance=userapi-sample", (string?)status["selector"]);
        Assert.Equal(userApi["metadata"]!["generation"]!.ToJsonString(), status["observedGeneration"]!.ToJsonString());
        Assert.Equal("False", (string?)LiveOperator.Condition(userApi, "Degraded")!["status"]);
        await live.Api.WaitForAsync(() => live.Events().Any(e => (string?)e["reason"] == "Created" && (string?)e["involvedObject"]!["name"] == Sample), LiveOperator.Timeout);
        Assert.Contains(live.Logs, l => l.Level == LogLevel.Information && l.Message.StartsWith("Reconciled default/userapi-sample: secret=created deployment=created service=created ingress=created poddisruptionbudget=created networkpolicy=created ready=0/3", StringComparison.Ordinal));
        Assert.Empty(live.Api.ServerErrors);
    }

    [Fact]
    public async Task Deleted_and_edited_children_return_to_the_desired_state()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);

        live.Api.Store.Delete(KnownResources.Services, "default", Sample);
        live.Api.Store.Update(KnownResources.Deployments, "default", Sample, d => d["spec"]!["replicas"] = 1);
        live.Api.Store.Update(KnownResources.Ingresses, "default", Sample, i => i["spec"]!["ingressClassName"] = "traefik");

        await live.WaitForAsync(KnownResources.Services, Sample, s => Owner(s) == Sample);
        await live.WaitForAsync(KnownResources.Deployments, Sample, d => (int)d["spec"]!["replicas"]! == 3);
        await live.WaitForAsync(KnownResources.Ingresses, Sample, i => (string?)i["spec"]!["ingressClassName"] == "nginx");
    }

    [Fact]
    public async Task Spec_changes_reach_the_children_and_disabling_the_ingress_deletes_it()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);

        await live.ApplyYamlAsync("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: userapi-sample, namespace: default}
            spec: {replicas: 5, ingress: {enabled: false}}
            """);

        await live.WaitForAsync(KnownResources.Deployments, Sample, d => (int)d["spec"]!["replicas"]! == 5);
        await live.Api.WaitForDeletionAsync(KnownResources.Ingresses, "default", Sample, LiveOperator.Timeout);
        live.MarkDeploymentAvailable(Sample);
        var userApi = await live.WaitForConditionAsync(Sample, "Ready", "True");
        Assert.Equal(5, (int)userApi["status"]!["readyReplicas"]!);
        Assert.Null(userApi["status"]!["url"]);
    }

    [Fact]
    public async Task The_password_is_kept_across_reconciles_and_restarts()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        var original = (string)(await live.WaitForAsync(KnownResources.Secrets, "userapi-sample-mysql", _ => true))["data"]!["MYSQL_PASSWORD"]!;
        Assert.True(Encoding.UTF8.GetString(Convert.FromBase64String(original)).Length >= 24);

        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {replicas: 4}\n");
        await live.WaitForAsync(KnownResources.Deployments, Sample, d => (int)d["spec"]!["replicas"]! == 4);
        await live.StopOperatorAsync();
        await live.StartOperatorAsync(live.Options);
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {replicas: 2}\n");
        await live.WaitForAsync(KnownResources.Deployments, Sample, d => (int)d["spec"]!["replicas"]! == 2);

        Assert.Equal(original, (string)live.Get(KnownResources.Secrets, "userapi-sample-mysql")!["data"]!["MYSQL_PASSWORD"]!);
        Assert.DoesNotContain(live.Api.Requests, r => r.Method is "PATCH" or "PUT" && r.Path.Contains("/secrets/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_idle_operator_sends_no_writes_even_across_a_resync()
    {
        await using var live = await LiveOperator.StartAsync(new OperatorOptions { ResyncPeriod = TimeSpan.FromMilliseconds(500) });
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);
        live.MarkDeploymentAvailable(Sample);
        await live.WaitForConditionAsync(Sample, "Ready", "True");
        // The watch events of the operator's own last writes come back and find nothing to do.
        const string Unchanged = "Reconciled default/userapi-sample, nothing changed";
        await live.WaitForLogCountAsync(Unchanged, live.LogCount(Unchanged) + 1);
        live.Api.ClearRequests();

        // Three resyncs (every 500 ms), each reconciling the UserApi once more.
        await live.WaitForLogCountAsync(Unchanged, live.LogCount(Unchanged) + 3);

        Assert.Empty(live.Api.WriteRequests);
        Assert.DoesNotContain(live.Logs, l => l.Level >= LogLevel.Information && l.Message.StartsWith("Reconciled default/userapi-sample:", StringComparison.Ordinal) && l.Message.Contains("nothing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_until_the_objects_exist()
    {
        await using var live = await LiveOperator.StartAsync();
        live.Api.FailNext(4, 500, r => r.Method == "PATCH" && r.Path.Contains("/deployments/", StringComparison.Ordinal));

        await live.ApplySampleAsync();

        await live.WaitForAsync(KnownResources.Deployments, Sample, _ => true);
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);
        Assert.Contains(live.Logs, l => l.Level == LogLevel.Warning && l.Message.Contains("Reconcile of default/userapi-sample failed", StringComparison.Ordinal));
        var failed = Assert.Single(live.Events(), e => (string?)e["reason"] == "ReconcileFailed");
        Assert.Equal("Warning", (string?)failed["type"]);
    }

    [Fact]
    public async Task Dropped_and_expired_watches_are_resumed_and_relisted()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);

        live.Api.DropWatches();
        live.Api.Store.Delete(KnownResources.Services, "default", Sample);
        await live.WaitForAsync(KnownResources.Services, Sample, _ => true);

        live.Api.ExpireHistory();
        live.Api.DropWatches();
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {replicas: 6}\n");
        await live.WaitForAsync(KnownResources.Deployments, Sample, d => (int)d["spec"]!["replicas"]! == 6);
        Assert.Contains(live.Logs, l => l.Message.Contains("expired", StringComparison.Ordinal) && l.Message.Contains("listing again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watch_and_list_failures_back_off_and_recover()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);

        var ingresses = live.Api.Requests.Count(IsIngressWatch);
        live.Api.FailNext(4, 503, IsIngressWatch);
        live.Api.DropWatches();
        live.Api.Store.Delete(KnownResources.Ingresses, "default", Sample);

        // The drop, then four refused watches of Ingresses in a row, then one served: the retry after
        // the n-th failure waits 200 ms x 2^(n-1), less 20 % jitter at most (6.2 s in all, at most 7.5).
        await live.Api.WaitForObjectAsync(KnownResources.Ingresses, "default", Sample, _ => true, TimeSpan.FromSeconds(30));
        var attempts = live.Api.Requests.Where(IsIngressWatch).Skip(ingresses).ToList();
        Assert.Equal([503, 503, 503, 503, 200], attempts.Take(5).Select(r => r.StatusCode));
        for (var i = 1; i < 5; i++)
        {
            var gap = attempts[i].Timestamp - attempts[i - 1].Timestamp;
            var least = TimeSpan.FromMilliseconds(200 * Math.Pow(2, i) * 0.8); // After failure i + 1.
            Assert.True(gap >= least, $"retry {i} came {gap.TotalMilliseconds:0} ms after the failure before it, less than {least.TotalMilliseconds:0} ms");
        }

        static bool IsIngressWatch(KubeApiFake.RecordedRequest r) => r.IsWatch && r.Path.EndsWith("/ingresses", StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_spec_is_reported_and_other_UserApis_go_on()
    {
        await using var live = await LiveOperator.StartAsync();
        // Bypasses the CRD schema, as an object stored under an older CRD would.
        live.Api.Store.Put(LiveOperator.UserApis, JsonNode.Parse("""
            {"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","metadata":{"name":"broken","namespace":"default"},"spec":{"replicas":500}}
            """)!.AsObject());

        await live.ApplySampleAsync();

        var broken = await live.WaitForConditionAsync("broken", "Degraded", "True");
        Assert.Equal("InvalidSpec", (string?)LiveOperator.Condition(broken, "Degraded")!["reason"]);
        Assert.Contains("spec.replicas: must be at most 100, got 500", (string?)LiveOperator.Condition(broken, "Degraded")!["message"], StringComparison.Ordinal);
        await live.Api.WaitForAsync(() => live.Events().Any(e => (string?)e["reason"] == "InvalidSpec" && (string?)e["type"] == "Warning"), LiveOperator.Timeout);
        Assert.Null(live.Get(KnownResources.Deployments, "broken"));
        await live.WaitForAsync(KnownResources.Deployments, Sample, _ => true);
    }

    [Fact]
    public async Task A_missing_password_secret_is_reported_as_degraded()
    {
        await using var live = await LiveOperator.StartAsync();

        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: shared, namespace: default}\nspec: {database: {passwordSecretRef: {name: db-credentials}}}\n");

        var userApi = await live.WaitForConditionAsync("shared", "Degraded", "True");
        Assert.Equal("SecretNotFound", (string?)LiveOperator.Condition(userApi, "Degraded")!["reason"]);
        Assert.Null(live.Get(KnownResources.Secrets, "shared-mysql"));
        await live.Api.WaitForAsync(() => live.Events().Any(e => (string?)e["reason"] == "SecretNotFound" && (string?)e["type"] == "Warning"), LiveOperator.Timeout);
    }

    [Fact]
    public async Task Deleting_the_UserApi_removes_its_objects_and_is_logged()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, Sample, _ => true);

        var uid = (string)live.Get(LiveOperator.UserApis, Sample)!["metadata"]!["uid"]!;
        var children = new[] { KnownResources.Secrets, KnownResources.Deployments, KnownResources.Services, KnownResources.Ingresses, KnownResources.PodDisruptionBudgets, KnownResources.NetworkPolicies };
        foreach (var kind in children)
        {
            // Each child names the UserApi as its controller, so that the garbage collector takes it.
            var child = await live.WaitForAsync(kind, kind == KnownResources.Secrets ? $"{Sample}-mysql" : Sample, _ => true);
            var owner = Assert.Single(child["metadata"]!["ownerReferences"]!.AsArray());
            Assert.Equal(uid, (string?)owner!["uid"]);
            Assert.True((bool)owner["controller"]! && (bool)owner["blockOwnerDeletion"]!);
        }

        using (var http = live.Api.CreateClient())
        {
            // As kubectl delete sends it: background propagation, the garbage collector does the rest.
            using var response = await http.DeleteAsync(new Uri($"/apis/userapi.example.com/v1alpha1/namespaces/default/userapis/{Sample}", UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode);
        }

        await live.WaitForLogCountAsync("UserApi default/userapi-sample deleted", 1);
        foreach (var kind in children)
        {
            await live.Api.WaitForDeletionAsync(kind, "default", kind == KnownResources.Secrets ? $"{Sample}-mysql" : Sample, LiveOperator.Timeout);
        }

        // Nothing made again for the deleted UserApi, after the operator heard of the deletion.
        Assert.DoesNotContain(live.Api.Requests, r => r.IsWrite && r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true
            && r.Method is "PATCH" or "POST" && !r.Path.Contains("/events", StringComparison.Ordinal) && !r.Path.Contains("/userapis/", StringComparison.Ordinal)
            && r.Timestamp > live.Api.Requests.Last(d => d.Method == "DELETE" && d.Path.EndsWith($"/userapis/{Sample}", StringComparison.Ordinal)).Timestamp);
    }

    [Fact]
    public async Task One_namespace_only_when_asked()
    {
        await using var live = await LiveOperator.StartAsync(new OperatorOptions { Namespace = "team-a" });

        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: mine, namespace: team-a}\n---\napiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: theirs, namespace: default}\n");

        await live.WaitForAsync(KnownResources.Deployments, "mine", _ => true, "team-a");
        // It cannot even see the other namespace: every list and watch it made named team-a.
        var reads = live.Api.Requests.Where(r => r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true && r.Verb is "list" or "watch").ToList();
        Assert.NotEmpty(reads);
        Assert.All(reads, r => Assert.Contains("/namespaces/team-a/", r.Path, StringComparison.Ordinal));
        Assert.Null(live.Get(KnownResources.Deployments, "theirs"));
    }
}
