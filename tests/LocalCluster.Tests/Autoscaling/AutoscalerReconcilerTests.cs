using k8s;
using k8s.Models;
using LocalCluster.Controllers.Autoscaling;
using LocalCluster.Metrics;

namespace LocalCluster.Tests.Autoscaling;

/// <summary>
/// One reconcile at a time, as kubernetes pkg/controller/podautoscaler/horizontal_test.go drives the
/// controller (TestScaleUp, TestScaleDown, TestToleranceCPU, TestMinReplicas, TestMaxReplicas,
/// TestZeroReplicas, TestScaleUpRCImmediately, TestMissingMetrics, TestScaleDownStabilize... and the
/// behavior tables of normalizeDesiredReplicasWithBehaviors): Pods of one 100m CPU / 64Mi container.
/// </summary>
public class AutoscalerReconcilerTests
{
    private static readonly DateTime Now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    private static V2HorizontalPodAutoscaler Hpa(int min, int max, int cpuTarget = 50, V2HorizontalPodAutoscalerBehavior? behavior = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default", Generation = 1 },
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "userapi.example.com/v1alpha1", Kind = "UserApi", Name = "web" },
            MinReplicas = min, MaxReplicas = max, Behavior = behavior,
            Metrics = [new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = cpuTarget } } }],
        },
    };

    private static V1Scale Scale(int replicas, string selector = "app=web") =>
        new() { Spec = new V1ScaleSpec { Replicas = replicas }, Status = new V1ScaleStatus { Replicas = replicas, Selector = selector } };

    private static List<V1Pod> Pods(int count) => [.. Enumerable.Range(0, count).Select(i => new V1Pod
    {
        Metadata = new V1ObjectMeta { Name = $"web-{i}", NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "web" } },
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "api", Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") } } }],
        },
        Status = new V1PodStatus
        {
            Phase = "Running", StartTime = Now.AddMinutes(-30),
            Conditions = [new V1PodCondition { Type = "Ready", Status = "True", LastTransitionTime = Now.AddMinutes(-29) }],
        },
    })];

    private static List<PodUsage> Usage(IEnumerable<V1Pod> pods, long cpuMillicores, long memoryBytes = 32 << 20) =>
        [.. pods.Select(p => new PodUsage("default", p.Metadata.Name, Now.AddSeconds(-10), TimeSpan.FromSeconds(15), [new ContainerUsage("api", cpuMillicores, memoryBytes)]))];

    private static (AutoscalerPlan Plan, V2HorizontalPodAutoscalerStatus? Status) Reconcile(
        AutoscalerReconciler reconciler, V2HorizontalPodAutoscaler hpa, int current, long cpu, ScalingHistory history, DateTime now, int? pods = null, string? scaleError = null)
    {
        var list = Pods(pods ?? current);
        var plan = reconciler.Plan(hpa, Scale(current), list, Usage(list, cpu), null, new Dictionary<string, string>(), history, now);
        var status = reconciler.Finish(plan, history, scaleError, now);
        return (plan, status);
    }

    private static V2HorizontalPodAutoscalerCondition Condition(V2HorizontalPodAutoscalerStatus status, string type) => status.Conditions.Single(c => c.Type == type);

    [Fact]
    public void ScalesUpToTheRatioOfUtilizationToTargetAndSaysWhy()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var (plan, status) = Reconcile(reconciler, Hpa(2, 10), current: 3, cpu: 90, new ScalingHistory(), Now);
        Assert.True(plan.Rescale);
        Assert.Equal(6, plan.DesiredReplicas);
        Assert.Equal((3, 6), (status!.CurrentReplicas, status.DesiredReplicas));
        Assert.Equal(Now, status.LastScaleTime);
        var metric = status.CurrentMetrics.Single();
        Assert.Equal(("Resource", "cpu", 90, "90m"), (metric.Type, metric.Resource.Name, metric.Resource.Current.AverageUtilization, metric.Resource.Current.AverageValue.ToString()));
        Assert.Equal(["AbleToScale", "ScalingActive", "ScalingLimited"], status.Conditions.Select(c => c.Type));
        Assert.Equal(("True", "SucceededRescale", "the HPA controller was able to update the target scale to 6"),
            (Condition(status, "AbleToScale").Status, Condition(status, "AbleToScale").Reason, Condition(status, "AbleToScale").Message));
        Assert.Equal(("True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"),
            (Condition(status, "ScalingActive").Status, Condition(status, "ScalingActive").Reason, Condition(status, "ScalingActive").Message));
        Assert.Equal(("False", "DesiredWithinRange"), (Condition(status, "ScalingLimited").Status, Condition(status, "ScalingLimited").Reason));
        Assert.Contains(new AutoscalerEvent("Normal", "SuccessfulRescale", "New size: 6; reason: cpu resource utilization (percentage of request) above target"), plan.Events);
    }

    [Fact]
    public void WithoutBehaviorAScaleUpIsLimitedToTwiceTheReplicasOrFour()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var (plan, status) = Reconcile(reconciler, Hpa(1, 20), current: 3, cpu: 500, new ScalingHistory(), Now);
        Assert.Equal(6, plan.DesiredReplicas);
        Assert.Equal(("True", "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"),
            (Condition(status!, "ScalingLimited").Status, Condition(status!, "ScalingLimited").Reason, Condition(status!, "ScalingLimited").Message));
        var (capped, cappedStatus) = Reconcile(reconciler, Hpa(1, 5), current: 3, cpu: 500, new ScalingHistory(), Now);
        Assert.Equal(5, capped.DesiredReplicas);
        Assert.Equal("TooManyReplicas", Condition(cappedStatus!, "ScalingLimited").Reason);
    }

    [Fact]
    public void WithinTheToleranceNothingChangesAndTheStatusIsNotRewritten()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var history = new ScalingHistory();
        var hpa = Hpa(2, 10);
        var (plan, status) = Reconcile(reconciler, hpa, current: 3, cpu: 54, history, Now);
        Assert.False(plan.Rescale);
        Assert.Equal((3, 3), (status!.CurrentReplicas, status.DesiredReplicas));
        Assert.Equal("ReadyForNewScale", Condition(status, "AbleToScale").Reason);
        hpa.Status = status;
        var (_, again) = Reconcile(reconciler, hpa, current: 3, cpu: 54, history, Now.AddSeconds(15));
        Assert.Null(again);
    }

    [Fact]
    public void WithoutBehaviorAScaleDownWaitsForTheHighestRecommendationOfTheWindow()
    {
        // TestScaleDownStabilize-like: after a recommendation of 6, a drop to 2 stays at 6 until the
        // 5-minute downscale stabilization window has passed.
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var history = new ScalingHistory();
        var hpa = Hpa(2, 10);
        var (up, _) = Reconcile(reconciler, hpa, current: 6, cpu: 50, history, Now);
        Assert.False(up.Rescale);
        var (held, heldStatus) = Reconcile(reconciler, hpa, current: 6, cpu: 10, history, Now.AddMinutes(2));
        Assert.False(held.Rescale);
        Assert.Equal(("ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"),
            (Condition(heldStatus!, "AbleToScale").Reason, Condition(heldStatus!, "AbleToScale").Message));
        var (down, downStatus) = Reconcile(reconciler, hpa, current: 6, cpu: 10, history, Now.AddMinutes(5).AddSeconds(30));
        Assert.Equal(2, down.DesiredReplicas);
        Assert.Equal("New size: 2; reason: All metrics below target", down.Events.Single(e => e.Reason == "SuccessfulRescale").Message);
        Assert.Equal("DesiredWithinRange", Condition(downStatus!, "ScalingLimited").Reason);
    }

    [Fact]
    public void TheDownscaleWindowIsTheControllersOption()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions { DownscaleStabilizationWindow = TimeSpan.FromSeconds(20) });
        var history = new ScalingHistory();
        Reconcile(reconciler, Hpa(2, 10), current: 6, cpu: 50, history, Now);
        Assert.False(Reconcile(reconciler, Hpa(2, 10), current: 6, cpu: 10, history, Now.AddSeconds(10)).Plan.Rescale);
        Assert.Equal(2, Reconcile(reconciler, Hpa(2, 10), current: 6, cpu: 10, history, Now.AddSeconds(31)).Plan.DesiredReplicas);
    }

    [Fact]
    public void DefaultBehaviorScalesUpByTheLargerOfFourPodsAndDoublingPer15Seconds()
    {
        // The API server's defaults for an empty behavior: scale up Max(4 Pods, 100 %) per 15 s.
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var history = new ScalingHistory();
        var hpa = Hpa(1, 30, behavior: new V2HorizontalPodAutoscalerBehavior());
        var (first, status) = Reconcile(reconciler, hpa, current: 2, cpu: 1000, history, Now);
        Assert.Equal(6, first.DesiredReplicas);
        Assert.Equal("ScaleUpLimit", Condition(status!, "ScalingLimited").Reason);
        // 10 s later the period still holds the +4: the limit is 2 + 4 = 6, the current count.
        var (held, _) = Reconcile(reconciler, hpa, current: 6, cpu: 1000, history, Now.AddSeconds(10));
        Assert.False(held.Rescale);
        // After the period: 6 -> max(6 + 4, 12) = 12.
        Assert.Equal(12, Reconcile(reconciler, hpa, current: 6, cpu: 1000, history, Now.AddSeconds(16)).Plan.DesiredReplicas);
    }

    [Fact]
    public void ScaleDownPoliciesLimitEachPeriodAndMinPicksTheSmallestChange()
    {
        var behavior = new V2HorizontalPodAutoscalerBehavior
        {
            ScaleDown = new V2HPAScalingRules
            {
                StabilizationWindowSeconds = 0,
                SelectPolicy = "Min",
                Policies = [new V2HPAScalingPolicy { Type = "Pods", Value = 3, PeriodSeconds = 60 }, new V2HPAScalingPolicy { Type = "Percent", Value = 50, PeriodSeconds = 60 }],
            },
        };
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var history = new ScalingHistory();
        var hpa = Hpa(1, 20, behavior: behavior);
        // From 10: Pods allows 7, Percent allows 5; Min (the smallest change) keeps 7.
        var (first, status) = Reconcile(reconciler, hpa, current: 10, cpu: 5, history, Now);
        Assert.Equal(7, first.DesiredReplicas);
        Assert.Equal(("True", "ScaleDownLimit"), (Condition(status!, "ScalingLimited").Status, Condition(status!, "ScalingLimited").Reason));
        // 30 s later the period started at 10 again: Pods allows 7, already reached.
        Assert.False(Reconcile(reconciler, hpa, current: 7, cpu: 5, history, Now.AddSeconds(30)).Plan.Rescale);
        // After the 60 s period: from 7, Pods 4 vs Percent 3: Min keeps 4.
        Assert.Equal(4, Reconcile(reconciler, hpa, current: 7, cpu: 5, history, Now.AddSeconds(61)).Plan.DesiredReplicas);
    }

    [Fact]
    public void ADisabledDirectionNeverScales()
    {
        var behavior = new V2HorizontalPodAutoscalerBehavior { ScaleDown = new V2HPAScalingRules { SelectPolicy = "Disabled" } };
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions { DownscaleStabilizationWindow = TimeSpan.Zero });
        var (plan, status) = Reconcile(reconciler, Hpa(1, 10, behavior: behavior), current: 5, cpu: 5, new ScalingHistory(), Now);
        Assert.False(plan.Rescale);
        Assert.Equal("ScaleDownLimit", Condition(status!, "ScalingLimited").Reason);
    }

    [Fact]
    public void AScaleUpStabilizationWindowTakesTheLowestRecentRecommendation()
    {
        var behavior = new V2HorizontalPodAutoscalerBehavior { ScaleUp = new V2HPAScalingRules { StabilizationWindowSeconds = 60 } };
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var history = new ScalingHistory();
        var hpa = Hpa(1, 10, behavior: behavior);
        Reconcile(reconciler, hpa, current: 2, cpu: 50, history, Now);
        var (held, status) = Reconcile(reconciler, hpa, current: 2, cpu: 150, history, Now.AddSeconds(30));
        Assert.False(held.Rescale);
        Assert.Equal("ScaleUpStabilized", Condition(status!, "AbleToScale").Reason);
        Assert.Equal(6, Reconcile(reconciler, hpa, current: 2, cpu: 150, history, Now.AddSeconds(61)).Plan.DesiredReplicas);
    }

    [Fact]
    public void MissingMetricsDeactivateScalingWithTheControllersMessages()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var hpa = Hpa(2, 10);
        var pods = Pods(3);
        var plan = reconciler.Plan(hpa, Scale(3), pods, [], null, new Dictionary<string, string>(), new ScalingHistory(), Now);
        var status = reconciler.Finish(plan, new ScalingHistory(), null, Now)!;
        Assert.False(plan.Rescale);
        var active = Condition(status, "ScalingActive");
        Assert.Equal(("False", "FailedGetResourceMetric",
            "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
            (active.Status, active.Reason, active.Message));
        Assert.Equal("""[{"type":""}]""", KubernetesJson.Serialize(status.CurrentMetrics));
        Assert.Contains(plan.Events, e => e is { Type: "Warning", Reason: "FailedGetResourceMetric", Message: "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API" });
        Assert.Contains(plan.Events, e => e.Reason == "FailedComputeMetricsReplicas"
            && e.Message == "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API");

        var down = reconciler.Plan(hpa, Scale(3), pods, null, "the server is currently unable to handle the request", new Dictionary<string, string>(), new ScalingHistory(), Now);
        Assert.Contains("unable to fetch metrics from resource metrics API: the server is currently unable to handle the request",
            Condition(down.Hpa.Status, "ScalingActive").Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(12, 10, "Current number of replicas above Spec.MaxReplicas")]
    [InlineData(1, 2, "Current number of replicas below Spec.MinReplicas")]
    public void ATargetOutsideMinAndMaxIsBroughtBackFirst(int current, int expected, string reason)
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var (plan, status) = Reconcile(reconciler, Hpa(2, 10), current, cpu: 50, new ScalingHistory(), Now);
        Assert.Equal(expected, plan.DesiredReplicas);
        Assert.Contains(new AutoscalerEvent("Normal", "SuccessfulRescale", $"New size: {expected}; reason: {reason}"), plan.Events);
        Assert.Null(status!.CurrentMetrics);
    }

    [Fact]
    public void ATargetAtZeroReplicasDisablesScaling()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var (plan, status) = Reconcile(reconciler, Hpa(2, 10), current: 0, cpu: 50, new ScalingHistory(), Now, pods: 0);
        Assert.False(plan.Rescale);
        Assert.Equal(("False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"),
            (Condition(status!, "ScalingActive").Status, Condition(status!, "ScalingActive").Reason, Condition(status!, "ScalingActive").Message));
    }

    [Fact]
    public void AScaleWithoutSelectorAndAFailedScaleWrite()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var plan = reconciler.Plan(Hpa(2, 10), Scale(3, selector: ""), Pods(3), [], null, new Dictionary<string, string>(), new ScalingHistory(), Now);
        Assert.Equal(("False", "InvalidSelector", "the HPA target's scale is missing a selector"),
            (Condition(plan.Hpa.Status, "ScalingActive").Status, Condition(plan.Hpa.Status, "ScalingActive").Reason, Condition(plan.Hpa.Status, "ScalingActive").Message));
        Assert.Contains(new AutoscalerEvent("Warning", "SelectorRequired", "selector is required"), plan.Events);

        var (failed, status) = Reconcile(reconciler, Hpa(2, 10), current: 3, cpu: 90, new ScalingHistory(), Now, scaleError: "the object has been modified");
        Assert.Equal(("False", "FailedUpdateScale", "the HPA controller was unable to update the target scale: the object has been modified"),
            (Condition(status!, "AbleToScale").Status, Condition(status!, "AbleToScale").Reason, Condition(status!, "AbleToScale").Message));
        Assert.Contains(failed.Events, e => e.Reason == "FailedRescale" && e.Message == "New size: 6; reason: cpu resource utilization (percentage of request) above target; error: the object has been modified");
        Assert.Null(status!.LastScaleTime);
    }

    [Fact]
    public void AverageValueTargetsOfMemoryReportTheRawAverage()
    {
        var hpa = Hpa(1, 10);
        hpa.Spec.Metrics = [new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "memory", Target = new V2MetricTarget { Type = "AverageValue", AverageValue = new ResourceQuantity("16Mi") } } }];
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var pods = Pods(2);
        var plan = reconciler.Plan(hpa, Scale(2), pods, Usage(pods, 10, memoryBytes: 32 << 20), null, new Dictionary<string, string>(), new ScalingHistory(), Now);
        Assert.Equal(4, plan.DesiredReplicas);
        var status = reconciler.Finish(plan, new ScalingHistory(), null, Now)!;
        Assert.Equal("33554432", status.CurrentMetrics.Single().Resource.Current.AverageValue.ToString());
        Assert.Null(status.CurrentMetrics.Single().Resource.Current.AverageUtilization);
        Assert.Equal("the HPA was able to successfully calculate a replica count from memory resource", Condition(status, "ScalingActive").Message);
    }

    [Fact]
    public void PodsThatAnotherAutoscalerAlsoSelectsAreAmbiguous()
    {
        var reconciler = new AutoscalerReconciler(new AutoscalerOptions());
        var pods = Pods(2);
        var plan = reconciler.Plan(Hpa(1, 10), Scale(2), pods, Usage(pods, 50), null, new Dictionary<string, string> { ["other"] = "app=web" }, new ScalingHistory(), Now);
        Assert.Equal(("False", "AmbiguousSelector", "pods by selector app=web are controlled by multiple HPAs: [default/other default/web]"),
            (Condition(plan.Hpa.Status, "ScalingActive").Status, Condition(plan.Hpa.Status, "ScalingActive").Reason, Condition(plan.Hpa.Status, "ScalingActive").Message));
    }
}
