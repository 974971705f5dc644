using System.Text.Json.Nodes;
using k8s.Models;
using KubeApiFake;
using LocalCluster.Controllers.Autoscaling;
using LocalCluster.Metrics;
using LocalCluster.Tests.Support;

namespace LocalCluster.Tests.Autoscaling;

/// <summary>The HPA controller against the fake API server: a UserApi (the repository's CRD) scaled through its scale subresource.</summary>
public class HorizontalPodAutoscalerControllerTests : FakeCluster
{
    private static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");
    private const string Selector = "app.kubernetes.io/instance=web,app.kubernetes.io/name=user-api";

    private readonly InMemoryResourceMetrics _metrics = new();

    private async Task UserApiAsync(int replicas)
    {
        await Api.ApplyAsync(File.ReadAllText(Path.Combine(Repository.Root, "config", "crd", "userapi.example.com_userapis.yaml")));
        await Api.WaitForAsync(() => Api.Store.FindResource(UserApis.Group, UserApis.Version, UserApis.Resource) is not null, Timeout);
        Api.Store.Put(UserApis, new JsonObject
        {
            ["apiVersion"] = "userapi.example.com/v1alpha1", ["kind"] = "UserApi",
            ["metadata"] = new JsonObject { ["name"] = "web", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["replicas"] = replicas },
        });
        Api.Store.UpdateStatus(UserApis, "default", "web", o => o["status"] = new JsonObject { ["replicas"] = replicas, ["selector"] = Selector });
    }

    private void Pods(int count, long cpuMillicores)
    {
        for (var i = 0; i < count; i++)
        {
            var name = $"web-{i}";
            Put(PodsGvr, new V1Pod
            {
                ApiVersion = "v1", Kind = "Pod",
                Metadata = new V1ObjectMeta
                {
                    Name = name, NamespaceProperty = "default",
                    Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "user-api", ["app.kubernetes.io/instance"] = "web" },
                },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "api", Image = "userapi:latest", Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("50m") } } }],
                },
                Status = new V1PodStatus
                {
                    Phase = "Running", StartTime = DateTime.UtcNow.AddMinutes(-10),
                    Conditions = [new V1PodCondition { Type = "Ready", Status = "True", LastTransitionTime = DateTime.UtcNow.AddMinutes(-9) }],
                },
            });
            _metrics.Set(new PodUsage("default", name, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15), [new ContainerUsage("api", cpuMillicores, 40 << 20)]));
        }
    }

    private void Autoscaler(string targetKind = "UserApi", string targetApiVersion = "userapi.example.com/v1alpha1") =>
        Put(KnownResources.HorizontalPodAutoscalers, new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2", Kind = "HorizontalPodAutoscaler",
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
            Spec = new V2HorizontalPodAutoscalerSpec
            {
                ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = targetApiVersion, Kind = targetKind, Name = "web" },
                MinReplicas = 2, MaxReplicas = 6,
                Metrics = [new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = 50 } } }],
            },
        });

    private long? Replicas() => Api.Store.Get(UserApis, "default", "web")?["spec"]?["replicas"] is { } n ? long.Parse(n.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : null;

    private V2HorizontalPodAutoscalerStatus? Status() => Get<V2HorizontalPodAutoscaler>(KnownResources.HorizontalPodAutoscalers, "default", "web")?.Status;

    [Fact]
    public async Task ScalesTheUserApiUpUnderLoadAndBackDownAfterTheWindow()
    {
        await UserApiAsync(replicas: 2);
        Pods(2, cpuMillicores: 100);
        Autoscaler();
        var controller = new HorizontalPodAutoscalerController(Client, _metrics,
            new AutoscalerOptions { SyncPeriod = TimeSpan.FromMilliseconds(300), DownscaleStabilizationWindow = TimeSpan.FromSeconds(2) });
        var (stop, running) = Start(controller.RunAsync);
        try
        {
            // 100m of 50m requested is 200 % against 50 %: 8 replicas wanted; the legacy rate limit
            // (twice the replicas, at least 4) allows 4, then maxReplicas caps the next step at 6.
            await WaitForAsync(() => Status() is { CurrentReplicas: 6, DesiredReplicas: 6 }
                && Status()!.Conditions.Any(c => c is { Type: "ScalingLimited", Status: "True", Reason: "TooManyReplicas" }));
            Assert.Equal(6, Replicas());
            var status = Status()!;
            Assert.Equal(200, status.CurrentMetrics.Single().Resource.Current.AverageUtilization);
            Assert.Equal("100m", status.CurrentMetrics.Single().Resource.Current.AverageValue.ToString());
            Assert.NotNull(status.LastScaleTime);
            Assert.Equal("ValidMetricFound", status.Conditions.Single(c => c.Type == "ScalingActive").Reason);
            await WaitForAsync(() => List<Corev1Event>(KnownResources.Events, "default").Count(e => e.Reason == "SuccessfulRescale") == 2);
            var rescales = List<Corev1Event>(KnownResources.Events, "default").Where(e => e.Reason == "SuccessfulRescale").ToList();
            Assert.All(rescales, e => Assert.Equal("horizontal-pod-autoscaler", e.Source.Component));
            Assert.Equal(
                ["New size: 4; reason: cpu resource utilization (percentage of request) above target", "New size: 6; reason: cpu resource utilization (percentage of request) above target"],
                rescales.Select(e => e.Message).Order(StringComparer.Ordinal));

            // The UserApi's six Pods run (the operator and the kubelet would make them) and the load
            // stops: after the 2-second downscale window the autoscaler returns to minReplicas.
            Api.Store.UpdateStatus(UserApis, "default", "web", o => o["status"]!["replicas"] = 6);
            Pods(6, cpuMillicores: 5);
            await WaitForAsync(() => Replicas() == 2);
            await WaitForAsync(() => List<Corev1Event>(KnownResources.Events, "default").Any(e => e.Message == "New size: 2; reason: All metrics below target"));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    [Fact]
    public async Task ATargetWithoutAScaleAndMetricsThatAreMissingShowInTheConditions()
    {
        Autoscaler(targetKind: "Deployment", targetApiVersion: "apps/v1");
        var controller = new HorizontalPodAutoscalerController(Client, _metrics, new AutoscalerOptions { SyncPeriod = TimeSpan.FromMilliseconds(200) });
        var (stop, running) = Start(controller.RunAsync);
        try
        {
            await WaitForAsync(() => Status()?.Conditions?.Any(c => c.Reason == "FailedGetScale") == true);
            Assert.Equal("the HPA controller was unable to get the target's current scale: deployments.apps \"web\" not found",
                Status()!.Conditions.Single(c => c.Type == "AbleToScale").Message);

            // The Deployment appears, but no Pod has a sample yet.
            Put(KnownResources.Deployments, new V1Deployment
            {
                ApiVersion = "apps/v1", Kind = "Deployment",
                Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
                Spec = new V1DeploymentSpec
                {
                    Replicas = 2,
                    Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "user-api", ["app.kubernetes.io/instance"] = "web" } },
                    Template = new V1PodTemplateSpec
                    {
                        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app.kubernetes.io/name"] = "user-api", ["app.kubernetes.io/instance"] = "web" } },
                        Spec = new V1PodSpec { Containers = [new V1Container { Name = "api", Image = "userapi:latest" }] },
                    },
                },
            });
            await WaitForAsync(() => Status()?.Conditions?.Any(c => c is { Type: "ScalingActive", Reason: "FailedGetResourceMetric" }) == true);
            Assert.Equal("the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
                Status()!.Conditions.Single(c => c.Type == "ScalingActive").Message);
            Assert.Equal("SucceededGetScale", Status()!.Conditions.Single(c => c.Type == "AbleToScale").Reason);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }
}
