using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using KubeApiFake;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// The real operator against the fake API server: the HorizontalPodAutoscaler, PodDisruptionBudget
/// and NetworkPolicy are created, repaired after drift and removed when switched off, and handing
/// <c>replicas</c> to the autoscaler and back never lowers the Deployment below the running Pods.
/// </summary>
public sealed class WorkloadPolicyLiveTests
{
    private const string Name = "userapi-autoscaling";

    private static string Manifest(string spec, string name = Name) =>
        $"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: {name}, namespace: default}}\nspec: {spec}\n";

    private static void AssertOwnedAndApplied(JsonObject child, JsonObject userApi)
    {
        var owner = child["metadata"]!["ownerReferences"]![0]!;
        Assert.Equal(((string?)userApi["metadata"]!["uid"], true), ((string?)owner["uid"], (bool)owner["controller"]!));
        Assert.Equal("userapi-operator", (string?)child["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]);
        Assert.Contains(child["metadata"]!["managedFields"]!.AsArray(), f => (string?)f!["manager"] == "userapi-operator" && (string?)f["operation"] == "Apply");
    }

    /// <summary>Awaits <paramref name="wait"/>; a timeout carries the operator's reconcile log lines, for the post-mortem.</summary>
    private static async Task WaitWithLogAsync(LiveOperator live, Func<Task> wait)
    {
        try
        {
            await wait();
        }
        catch (TimeoutException e)
        {
            var lines = live.Logs.Where(l => l.Message.StartsWith("Reconcile", StringComparison.Ordinal)).Select(l => $"{l.Level}: {l.Message}");
            throw new TimeoutException($"{e.Message}\n{string.Join("\n", lines)}", e);
        }
    }

    [Fact]
    public async Task The_autoscaler_of_the_sample_is_created_repaired_and_removed_when_switched_off()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplyYamlAsync(File.ReadAllText(Repository.PathOf("config/samples/userapi-autoscaling.yaml")));

        var hpa = await live.WaitForAsync(KnownResources.HorizontalPodAutoscalers, Name, _ => true);
        AssertOwnedAndApplied(hpa, live.Get(LiveOperator.UserApis, Name)!);
        Assert.Equal(("UserApi", Name), ((string?)hpa["spec"]!["scaleTargetRef"]!["kind"], (string?)hpa["spec"]!["scaleTargetRef"]!["name"]));
        Assert.Equal((2, 6), ((int)hpa["spec"]!["minReplicas"]!, (int)hpa["spec"]!["maxReplicas"]!));

        live.Api.Store.Update(KnownResources.HorizontalPodAutoscalers, "default", Name, h => h["spec"]!["maxReplicas"] = 50);
        await live.WaitForAsync(KnownResources.HorizontalPodAutoscalers, Name, h => (int)h["spec"]!["maxReplicas"]! == 6);
        live.Api.Store.Delete(KnownResources.HorizontalPodAutoscalers, "default", Name);
        await WaitWithLogAsync(live, () => live.WaitForAsync(KnownResources.HorizontalPodAutoscalers, Name, _ => true));

        await live.ApplyYamlAsync(Manifest("{replicas: 3, autoscaling: {enabled: false}}"));
        await live.Api.WaitForDeletionAsync(KnownResources.HorizontalPodAutoscalers, "default", Name, LiveOperator.Timeout);
        await live.Api.WaitForAsync(() => live.Events().Any(e => (string?)e["message"] == $"Deleted HorizontalPodAutoscaler {Name}"), LiveOperator.Timeout);
        Assert.Empty(live.Api.ServerErrors);
    }

    [Fact]
    public async Task The_disruption_budget_is_created_repaired_and_removed_below_two_replicas()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();

        var pdb = await live.WaitForAsync(KnownResources.PodDisruptionBudgets, "userapi-sample", _ => true);
        AssertOwnedAndApplied(pdb, live.Get(LiveOperator.UserApis, "userapi-sample")!);
        Assert.Equal("1", pdb["spec"]!["maxUnavailable"]!.ToJsonString());
        Assert.Equal("userapi-sample", (string?)pdb["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/instance"]);

        live.Api.Store.Update(KnownResources.PodDisruptionBudgets, "default", "userapi-sample", p => p["spec"]!["maxUnavailable"] = 0);
        await live.WaitForAsync(KnownResources.PodDisruptionBudgets, "userapi-sample", p => p["spec"]!["maxUnavailable"]!.ToJsonString() == "1");
        live.Api.Store.Delete(KnownResources.PodDisruptionBudgets, "default", "userapi-sample");
        await WaitWithLogAsync(live, () => live.WaitForAsync(KnownResources.PodDisruptionBudgets, "userapi-sample", _ => true));

        await live.ApplyYamlAsync(Manifest("{replicas: 1}", "userapi-sample"));
        await live.Api.WaitForDeletionAsync(KnownResources.PodDisruptionBudgets, "default", "userapi-sample", LiveOperator.Timeout);
        await live.ApplyYamlAsync(Manifest("{replicas: 3, disruptionBudget: {minAvailable: 3}}", "userapi-sample"));
        await live.WaitForAsync(KnownResources.Deployments, "userapi-sample", d => (int)d["spec"]!["replicas"]! == 3);
        await live.WaitObservedAsync("userapi-sample");
        Assert.Null(live.Get(KnownResources.PodDisruptionBudgets, "userapi-sample")); // It would block every drain.
        Assert.Empty(live.Api.ServerErrors);
    }

    [Fact]
    public async Task The_network_policy_is_created_repaired_and_removed_when_switched_off()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();

        var policy = await live.WaitForAsync(KnownResources.NetworkPolicies, "userapi-sample", _ => true);
        AssertOwnedAndApplied(policy, live.Get(LiveOperator.UserApis, "userapi-sample")!);
        Assert.Equal("""[{"ports":[{"port":"http","protocol":"TCP"}]}]""", policy["spec"]!["ingress"]!.ToJsonString());
        Assert.Equal("""["Ingress"]""", policy["spec"]!["policyTypes"]!.ToJsonString());

        // Someone opens the MySQL port; the operator closes it again.
        live.Api.Store.Update(KnownResources.NetworkPolicies, "default", "userapi-sample", p => p["spec"]!["ingress"]![0]!["ports"]!.AsArray().Add(new JsonObject { ["port"] = 3306, ["protocol"] = "TCP" }));
        await live.WaitForAsync(KnownResources.NetworkPolicies, "userapi-sample", p => p["spec"]!["ingress"]![0]!["ports"]!.AsArray().Count == 1);
        live.Api.Store.Delete(KnownResources.NetworkPolicies, "default", "userapi-sample");
        await WaitWithLogAsync(live, () => live.WaitForAsync(KnownResources.NetworkPolicies, "userapi-sample", _ => true));

        await live.ApplyYamlAsync(Manifest("{networkPolicy: {enabled: false}}", "userapi-sample"));
        await live.Api.WaitForDeletionAsync(KnownResources.NetworkPolicies, "default", "userapi-sample", LiveOperator.Timeout);
        Assert.Empty(live.Api.ServerErrors);
    }

    /// <summary>
    /// Autoscaling on, the autoscaler scaling up, the user dropping <c>replicas</c> from their
    /// manifest, autoscaling off: at every watch event of the Deployment and the UserApi, the
    /// desired replicas are at least the Pods running (what the Deployment controller last reported).
    /// </summary>
    [Fact]
    public async Task Handing_replicas_to_the_autoscaler_and_back_never_drops_below_the_running_Pods()
    {
        await using var live = await LiveOperator.StartAsync();
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(live.KubeconfigPath));
        await live.ApplyYamlAsync(Manifest("{replicas: 5}"));
        await live.WaitForAsync(KnownResources.Deployments, Name, d => (int)d["spec"]!["replicas"]! == 5);
        live.MarkDeploymentAvailable(Name);
        await live.WaitForConditionAsync(Name, "Ready", "True");

        // Each watch delivers its kind's writes in order, but later than the store holds them: so the
        // floor rises per kind when that kind's own watch shows the Pods scaled to 8, and no later
        // event of that watch may go below it.
        var floors = new ConcurrentDictionary<string, int>(StringComparer.Ordinal) { ["Deployment"] = 5, ["UserApi"] = 5 };
        var dips = new ConcurrentQueue<string>();
        var seen = new ConcurrentQueue<(string Kind, int Replicas)>();
        using var stop = new CancellationTokenSource();
        var watches = Task.WhenAll(
            Task.Run(async () =>
            {
                await foreach (var (_, d) in client.AppsV1.WatchListNamespacedDeploymentAsync("default", fieldSelector: $"metadata.name={Name}", cancellationToken: stop.Token))
                {
                    Observe("Deployment", d.Spec.Replicas ?? 1);
                }
            }),
            Task.Run(async () =>
            {
                await foreach (var (_, u) in client.CustomObjects.WatchListNamespacedCustomObjectAsync("userapi.example.com", "v1alpha1", "default", "userapis", fieldSelector: $"metadata.name={Name}", cancellationToken: stop.Token))
                {
                    Observe("UserApi", ((System.Text.Json.JsonElement)u).GetProperty("spec").GetProperty("replicas").GetInt32());
                }
            }));

        void Observe(string kind, int replicas)
        {
            seen.Enqueue((kind, replicas));
            if (replicas < floors[kind])
            {
                dips.Enqueue($"{kind} spec.replicas {replicas} after its watch had shown {floors[kind]} (Pods running)");
            }
            else if (replicas >= 8)
            {
                floors[kind] = 8;
            }
        }

        // 1. Autoscaling on, replicas still in the manifest: the HPA starts from the current count.
        await live.ApplyYamlAsync(Manifest("{replicas: 5, autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 10}}"));
        await live.WaitForAsync(KnownResources.HorizontalPodAutoscalers, Name, _ => true);

        // 2. The HPA controller scales the UserApi up through its scale subresource, as kube-controller-manager.
        // Its Scale carries the resourceVersion it read; like the HPA controller, try again on a conflict.
        for (var attempt = 0; ; attempt++)
        {
            var scale = await client.CustomObjects.GetNamespacedCustomObjectScaleAsync("userapi.example.com", "v1alpha1", "default", "userapis", Name);
            var body = JsonNode.Parse(((System.Text.Json.JsonElement)scale).GetRawText())!;
            Assert.Equal(5, (int)body["spec"]!["replicas"]!);
            body["spec"]!["replicas"] = 8;
            try
            {
                await client.CustomObjects.ReplaceNamespacedCustomObjectScaleAsync(body, "userapi.example.com", "v1alpha1", "default", "userapis", Name, fieldManager: "kube-controller-manager");
                break;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict && attempt < 10)
            {
                await Task.Delay(50);
            }
        }

        await live.WaitForAsync(KnownResources.Deployments, Name, d => (int)d["spec"]!["replicas"]! == 8);
        live.MarkDeploymentAvailable(Name);

        // 3. The user drops replicas from the manifest: the autoscaler's write took the field over, so it stays.
        await live.ApplyYamlAsync(Manifest("{autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 10}}"));
        await live.WaitObservedAsync(Name);
        Assert.Equal(8, (int)live.Get(LiveOperator.UserApis, Name)!["spec"]!["replicas"]!);

        // 4. Autoscaling off: the HPA goes, spec.replicas stays where it left it.
        await live.ApplyYamlAsync(Manifest("{autoscaling: {enabled: false}}"));
        await live.Api.WaitForDeletionAsync(KnownResources.HorizontalPodAutoscalers, "default", Name, LiveOperator.Timeout);
        await live.WaitObservedAsync(Name);
        Assert.Equal(8, (int)live.Get(KnownResources.Deployments, Name)!["spec"]!["replicas"]!);

        // 5. The user takes replicas back at the running count.
        await live.ApplyYamlAsync(Manifest("{replicas: 8, autoscaling: {enabled: false}}"));
        await live.WaitObservedAsync(Name);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watches);
        Assert.True(dips.IsEmpty, string.Join("; ", dips));
        Assert.Contains(seen, s => s == ("Deployment", 8));
        Assert.Contains(seen, s => s == ("UserApi", 8));
        Assert.Equal(8, (int)live.Get(KnownResources.Deployments, Name)!["spec"]!["replicas"]!);
        Assert.Empty(live.Api.ServerErrors);
    }

    /// <summary>
    /// The trap the README warns of (server-side apply docs, "Transferring ownership"): dropping
    /// <c>replicas</c> from a manifest while its applier still owns the field removes it, and the
    /// CRD's default (3) comes back, below the 5 Pods running.
    /// </summary>
    [Fact]
    public async Task Dropping_replicas_from_the_manifest_before_the_autoscaler_took_it_resets_the_default()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplyYamlAsync(Manifest("{replicas: 5}"));
        await live.WaitForAsync(KnownResources.Deployments, Name, d => (int)d["spec"]!["replicas"]! == 5);

        await live.ApplyYamlAsync(Manifest("{autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 10}}"));

        Assert.Equal(3, (int)live.Get(LiveOperator.UserApis, Name)!["spec"]!["replicas"]!);
        await live.WaitForAsync(KnownResources.Deployments, Name, d => (int)d["spec"]!["replicas"]! == 3);
    }
}
