using k8s;
using k8s.Models;
using KubeApiFake;
using LocalCluster.Controllers.Disruption;
using LocalCluster.Tests.Support;

namespace LocalCluster.Tests.Disruption;

/// <summary>The disruption controller against the fake API server: budgets over a Deployment's Pods, found through its scale subresource.</summary>
public class DisruptionControllerTests : FakeCluster
{
    private V1Deployment Deployment(string name, int replicas)
    {
        var stored = Put(KnownResources.Deployments, new V1Deployment
        {
            ApiVersion = "apps/v1", Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new V1DeploymentSpec
            {
                Replicas = replicas,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "api", Image = "userapi:latest" }] },
                },
            },
        });
        return KubernetesJson.Deserialize<V1Deployment>(stored.ToJsonString());
    }

    private void Pod(V1Deployment owner, string name, bool ready, DateTime? disruptionTargetSince = null, (string ApiVersion, string Kind)? kind = null)
    {
        var conditions = new List<V1PodCondition> { new() { Type = "Ready", Status = ready ? "True" : "False" } };
        if (disruptionTargetSince is { } since)
        {
            conditions.Add(new V1PodCondition { Type = "DisruptionTarget", Status = "True", Reason = "EvictionByEvictionAPI", Message = "Eviction API: evicting", LastTransitionTime = since });
        }
        Put(PodsGvr, new V1Pod
        {
            ApiVersion = "v1", Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = owner.Metadata.Name },
                OwnerReferences = [new V1OwnerReference { ApiVersion = kind?.ApiVersion ?? "apps/v1", Kind = kind?.Kind ?? "Deployment", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, Controller = true }],
            },
            Spec = new V1PodSpec { NodeName = "node-1", Containers = [new V1Container { Name = "api", Image = "userapi:latest" }] },
            Status = new V1PodStatus { Phase = "Running", Conditions = conditions },
        });
    }

    private void Budget(string name, string selectorApp, IntOrString? minAvailable = null, IntOrString? maxUnavailable = null) =>
        Put(KnownResources.PodDisruptionBudgets, new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1", Kind = "PodDisruptionBudget",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" },
            Spec = new V1PodDisruptionBudgetSpec
            {
                MinAvailable = minAvailable, MaxUnavailable = maxUnavailable,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = selectorApp } },
            },
        });

    private V1PodDisruptionBudgetStatus? Status(string name) => Get<V1PodDisruptionBudget>(KnownResources.PodDisruptionBudgets, "default", name)?.Status;

    [Fact]
    public async Task KeepsEachBudgetsStatusAsPodsComeAndGoReady()
    {
        var web = Deployment("web", 3);
        for (var i = 0; i < 3; i++) Pod(web, $"web-{i}", ready: true);
        Budget("web", "web", maxUnavailable: 1);
        Budget("web-min", "web", minAvailable: 2);
        var controller = new DisruptionController(Client);
        var (stop, running) = Start(controller.RunAsync);
        try
        {
            await WaitForAsync(() => Status("web") is { ExpectedPods: 3, CurrentHealthy: 3, DesiredHealthy: 2, DisruptionsAllowed: 1, ObservedGeneration: 1 }
                && Status("web-min") is { ExpectedPods: 3, DesiredHealthy: 2, DisruptionsAllowed: 1 });
            var condition = Status("web")!.Conditions.Single();
            Assert.Equal(("DisruptionAllowed", "True", "SufficientPods"), (condition.Type, condition.Status, condition.Reason));

            await Client.CoreV1.PatchNamespacedPodStatusAsync(
                new V1Patch("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}", V1Patch.PatchType.MergePatch), "web-0", "default");
            await WaitForAsync(() => Status("web") is { CurrentHealthy: 2, DisruptionsAllowed: 0 });
            Assert.Equal(("False", "InsufficientPods"), (Status("web")!.Conditions.Single().Status, Status("web")!.Conditions.Single().Reason));

            // Scaling the Deployment changes expectedPods through its scale subresource.
            await Client.AppsV1.PatchNamespacedDeploymentScaleAsync(new V1Patch("{\"spec\":{\"replicas\":5}}", V1Patch.PatchType.MergePatch), "web", "default");
            await WaitForAsync(() => Status("web") is { ExpectedPods: 5, DesiredHealthy: 4, DisruptionsAllowed: 0 });

            // Nothing changes any more: two more passes write nothing.
            Api.ClearRequests();
            var passes = controller.Passes;
            await WaitForAsync(() => controller.Passes >= passes + 2);
            Assert.DoesNotContain(Api.WriteRequests, r => r.Path.Contains("poddisruptionbudgets", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task ABudgetOverPodsWithoutAKnownControllerFailsSafe()
    {
        // Pods controlled by a ConfigMap: the scale finder maps the kind, and it has no scale subresource.
        var owner = KubernetesJson.Deserialize<V1ConfigMap>(Put(KnownResources.ConfigMaps, new V1ConfigMap
        {
            ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
        }).ToJsonString());
        var web = new V1Deployment { Metadata = new V1ObjectMeta { Name = "web", Uid = owner.Metadata.Uid } };
        Pod(web, "web-0", ready: true, kind: ("v1", "ConfigMap"));
        Budget("web", "web", maxUnavailable: 1);
        var controller = new DisruptionController(Client);
        var (stop, running) = Start(controller.RunAsync);
        try
        {
            await WaitForAsync(() => Status("web")?.Conditions?.Any(c => c.Reason == "SyncFailed") == true);
            Assert.Equal(0, Status("web")!.DisruptionsAllowed);
            Assert.Equal("configmaps does not implement the scale subresource", Status("web")!.Conditions.Single().Message);
            await WaitForAsync(() => List<Corev1Event>(KnownResources.Events, "default").Any(e => e.Reason == "CalculateExpectedPodCountFailed"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task AStaleDisruptionTargetConditionIsSetToFalse()
    {
        var web = Deployment("web", 1);
        Pod(web, "web-0", ready: true, disruptionTargetSince: DateTime.UtcNow.AddMinutes(-3));
        var controller = new DisruptionController(Client);
        var (stop, running) = Start(controller.RunAsync);
        try
        {
            await WaitForAsync(() => Get<V1Pod>(PodsGvr, "default", "web-0")!.Status.Conditions.Any(c => c.Type == "DisruptionTarget" && c.Status == "False"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }
}
