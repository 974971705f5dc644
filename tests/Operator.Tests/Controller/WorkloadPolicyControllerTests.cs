using k8s;
using System.Text.Json.Nodes;
using KubeApiFake;
using UserApiOperator.Controllers;

namespace UserApiOperator.Tests.Controller;

/// <summary>
/// The HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicy, one reconcile at a time:
/// created, repaired, deleted when they should not exist, reported like the other children.
/// </summary>
public sealed class WorkloadPolicyControllerTests : IAsyncLifetime
{
    private const string Ns = ControllerHarness.Ns;
    private ControllerHarness _h = null!;

    public async Task InitializeAsync() => _h = await ControllerHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");

    /// <summary><c>verb resource</c> of a write to a named object.</summary>
    private static string Summary(RecordedRequest r) => $"{r.Verb} {r.Path.Split('/')[^2]}";

    /// <summary>Writes other than Events and status.</summary>
    private IEnumerable<RecordedRequest> ObjectWrites => _h.Writes.Where(r => !r.Path.EndsWith("/status", StringComparison.Ordinal) && !r.Path.EndsWith("/events", StringComparison.Ordinal));

    private Task SpecAsync(string spec) =>
        _h.Api.ApplyAsync($"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: alpha, namespace: {Ns}}}\nspec: {spec}\n");

    [Fact]
    public async Task Turning_autoscaling_on_applies_an_autoscaler_and_turning_it_off_deletes_it()
    {
        await _h.BringToReadyAsync();
        Assert.Null(_h.Api.Store.Get(KnownResources.HorizontalPodAutoscalers, Ns, "alpha"));

        await SpecAsync("{autoscaling: {enabled: true, maxReplicas: 6}}");
        await _h.SettledAsync();
        _h.Api.ClearRequests();
        await _h.ReconcileAsync();

        Assert.Equal(["patch horizontalpodautoscalers"], ObjectWrites.Select(Summary));
        var hpa = _h.Api.Store.Get(KnownResources.HorizontalPodAutoscalers, Ns, "alpha")!;
        Assert.Equal("UserApi", (string?)hpa["spec"]!["scaleTargetRef"]!["kind"]);
        Assert.Equal(6, (int)hpa["spec"]!["maxReplicas"]!);
        Assert.Equal("userapi-operator", (string?)hpa["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]);
        Assert.Contains(("Normal", "Created", "Created HorizontalPodAutoscaler alpha"), _h.Events);

        await SpecAsync("{autoscaling: {enabled: false}}");
        await _h.SettledAsync();
        _h.Api.ClearRequests();
        await _h.ReconcileAsync();

        Assert.Equal(["delete horizontalpodautoscalers"], ObjectWrites.Select(Summary));
        Assert.Null(_h.Api.Store.Get(KnownResources.HorizontalPodAutoscalers, Ns, "alpha"));
        Assert.Contains(("Normal", "Updated", "Deleted HorizontalPodAutoscaler alpha"), _h.Events);
    }

    [Fact]
    public async Task The_autoscaler_scaling_the_UserApi_reaches_the_Deployment_and_is_not_undone()
    {
        await _h.BringToReadyAsync(spec: "{autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 8}}");

        // The HPA controller writes the UserApi's scale subresource (PUT .../userapis/alpha/scale).
        var scale = (JsonObject)JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(await _h.Client.CustomObjects.GetNamespacedCustomObjectScaleAsync(
            "userapi.example.com", "v1alpha1", Ns, "userapis", "alpha")))!;
        Assert.Equal(3, (int)scale["spec"]!["replicas"]!);
        Assert.Equal("app.kubernetes.io/name=user-api,app.kubernetes.io/instance=alpha", (string?)scale["status"]!["selector"]);
        scale["spec"]!["replicas"] = 6;
        await _h.Client.CustomObjects.ReplaceNamespacedCustomObjectScaleAsync(scale, "userapi.example.com", "v1alpha1", Ns, "userapis", "alpha");
        await _h.SettledAsync();
        _h.Api.ClearRequests();

        await _h.ReconcileAsync();
        await _h.SettledAsync();

        Assert.Equal(["patch deployments"], ObjectWrites.Select(Summary));
        Assert.Equal(6, (int)_h.Api.Store.Get(KnownResources.Deployments, Ns, "alpha")!["spec"]!["replicas"]!);
        Assert.Equal(6, (int)_h.Api.Store.Get(UserApis, Ns, "alpha")!["spec"]!["replicas"]!);
    }

    [Fact]
    public async Task With_all_three_in_place_and_defaulted_by_the_API_server_a_reconcile_sends_nothing()
    {
        await _h.BringToReadyAsync(spec: "{autoscaling: {enabled: true, targetMemoryUtilizationPercentage: 70}, disruptionBudget: {maxUnavailable: \"50%\"}}");
        Assert.Equal("TCP", (string?)_h.Api.Store.Get(KnownResources.NetworkPolicies, Ns, "alpha")!["spec"]!["ingress"]![0]!["ports"]![0]!["protocol"]);

        await _h.ReconcileAsync();

        Assert.Empty(_h.Requests);
    }

    [Fact]
    public async Task The_budget_goes_below_two_replicas_and_comes_back_above()
    {
        await _h.BringToReadyAsync();
        Assert.Equal("1", _h.Api.Store.Get(KnownResources.PodDisruptionBudgets, Ns, "alpha")!["spec"]!["maxUnavailable"]!.ToJsonString());

        await SpecAsync("{replicas: 1}");
        await _h.SettledAsync();
        await _h.ReconcileAsync();
        Assert.Null(_h.Api.Store.Get(KnownResources.PodDisruptionBudgets, Ns, "alpha"));
        Assert.Contains(_h.Events, e => e.Message.Contains("deleted PodDisruptionBudget alpha", StringComparison.Ordinal));

        await SpecAsync("{replicas: 4, disruptionBudget: {minAvailable: \"50%\"}}");
        await _h.SettledAsync();
        await _h.ReconcileAsync();
        var pdb = _h.Api.Store.Get(KnownResources.PodDisruptionBudgets, Ns, "alpha")!;
        Assert.Equal("\"50%\"", pdb["spec"]!["minAvailable"]!.ToJsonString());
        Assert.Null(pdb["spec"]!["maxUnavailable"]); // Server-side apply dropped the field we no longer set.
    }

    [Fact]
    public async Task An_edited_network_policy_is_applied_again_and_a_disabled_one_deleted()
    {
        await _h.BringToReadyAsync();
        _h.Api.Store.Update(KnownResources.NetworkPolicies, Ns, "alpha", p => p["spec"]!["ingress"]![0]!["ports"]![0]!["port"] = 3306);
        await _h.SettledAsync();

        await _h.ReconcileAsync();

        Assert.Equal("\"http\"", _h.Api.Store.Get(KnownResources.NetworkPolicies, Ns, "alpha")!["spec"]!["ingress"]![0]!["ports"]![0]!["port"]!.ToJsonString());
        Assert.Contains(("Normal", "Updated", "Updated NetworkPolicy alpha"), _h.Events);

        await SpecAsync("{networkPolicy: {enabled: false}}");
        await _h.SettledAsync();
        await _h.ReconcileAsync();
        Assert.Null(_h.Api.Store.Get(KnownResources.NetworkPolicies, Ns, "alpha"));
    }

    [Fact]
    public async Task A_network_policy_someone_else_controls_is_left_alone_and_reported()
    {
        await _h.BringToReadyAsync();
        _h.Api.Store.Update(KnownResources.NetworkPolicies, Ns, "alpha", p =>
        {
            p["metadata"]!["ownerReferences"] = JsonNode.Parse("""[{"apiVersion":"v1","kind":"ConfigMap","name":"other","uid":"other-uid","controller":true}]""");
            p["spec"]!["policyTypes"] = new JsonArray("Ingress", "Egress");
        });
        await _h.SettledAsync();

        await _h.ReconcileAsync();

        Assert.DoesNotContain(_h.Writes, r => r.Path.Contains("/networkpolicies", StringComparison.Ordinal));
        var degraded = ControllerHarness.Condition(_h.Status(), Conditions.Degraded)!;
        Assert.Equal("OwnershipConflict", (string?)degraded["reason"]);
        Assert.Contains("NetworkPolicy default/alpha is controlled by ConfigMap other", (string?)degraded["message"], StringComparison.Ordinal);
    }
}

