using k8s.Models;
using LocalCluster.Controllers.Autoscaling;
using LocalCluster.Metrics;

namespace LocalCluster.Tests.Autoscaling;

/// <summary>
/// After kubernetes pkg/controller/podautoscaler/replica_calculator_test.go: every Pod has two
/// containers (numContainersPerPod), each with the request and each using the level given, so a
/// Pod's request and usage are twice the figures.
/// </summary>
public class ReplicaCalculatorTests
{
    private static readonly DateTime Now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>readiness: R ready, U unready (never ready), P Pending, D being deleted, F Failed; a level of -1 is no sample.</summary>
    private static (List<V1Pod> Pods, Dictionary<string, PodMetric> Metrics) Setup(string requests, string readiness, params long[] levels)
    {
        var pods = new List<V1Pod>();
        var samples = new List<PodUsage>();
        for (var i = 0; i < levels.Length; i++)
        {
            var state = readiness[i];
            var start = Now.AddMinutes(-10);
            var pod = new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = $"pod-{i}", NamespaceProperty = "default", DeletionTimestamp = state == 'D' ? Now : null },
                Spec = new V1PodSpec
                {
                    Containers = [Container("c0", requests), Container("c1", requests)],
                },
                Status = new V1PodStatus
                {
                    Phase = state switch { 'P' => "Pending", 'F' => "Failed", _ => "Running" },
                    StartTime = start,
                    Conditions = [new V1PodCondition { Type = "Ready", Status = state == 'U' ? "False" : "True", LastTransitionTime = start.AddSeconds(state == 'U' ? 10 : 60) }],
                },
            };
            pods.Add(pod);
            if (levels[i] >= 0)
            {
                samples.Add(new PodUsage("default", pod.Metadata.Name, Now.AddSeconds(-5), TimeSpan.FromSeconds(15),
                    [new ContainerUsage("c0", levels[i], levels[i] * 1024), new ContainerUsage("c1", levels[i], levels[i] * 1024)]));
            }
        }
        return (pods, ReplicaCalculator.PodMetrics(samples, "cpu").Metrics);
    }

    private static V1Container Container(string name, string cpu) => new()
    {
        Name = name,
        Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new("1Mi") } },
    };

    [Theory]
    // name, currentReplicas, requests, readiness, target %, levels, expected replicas, expected utilization, expected raw average
    [InlineData("TestReplicaCalcScaleUp", 3, "1.0", "RRR", 30, new long[] { 300, 500, 700 }, 5, 50, 1000)]
    [InlineData("TestReplicaCalcScaleUpUnreadyLessScale", 3, "1.0", "URR", 30, new long[] { 300, 500, 700 }, 4, 60, 1200)]
    [InlineData("TestReplicaCalcScaleUpUnreadyNoScale", 3, "1.0", "RUU", 30, new long[] { 400, 500, 700 }, 3, 40, 800)]
    [InlineData("TestReplicaCalcScaleUpIgnoresFailedPods", 2, "1.0", "RRFF", 30, new long[] { 500, 700, 100, 100 }, 4, 60, 1200)]
    [InlineData("TestReplicaCalcScaleUpIgnoresDeletionPods", 2, "1.0", "RRDD", 30, new long[] { 500, 700, 100, 100 }, 4, 60, 1200)]
    [InlineData("TestReplicaCalcScaleDown", 5, "1.0", "RRRRR", 50, new long[] { 100, 300, 500, 250, 250 }, 3, 28, 560)]
    [InlineData("TestReplicaCalcTolerance", 3, "1.0", "RRR", 100, new long[] { 1010, 1030, 1020 }, 3, 102, 2040)]
    [InlineData("TestReplicaCalcMissingMetricsNoChangeEq", 2, "1.0", "RR", 100, new long[] { 1000, -1 }, 2, 100, 2000)]
    [InlineData("TestReplicaCalcMissingMetricsNoChangeGt", 2, "1.0", "RR", 100, new long[] { 1900, -1 }, 2, 190, 3800)]
    [InlineData("TestReplicaCalcMissingMetricsNoChangeLt", 2, "1.0", "RR", 100, new long[] { 600, -1 }, 2, 60, 1200)]
    [InlineData("TestReplicaCalcMissingMetricsScaleUp", 3, "1.0", "RRR", 100, new long[] { 2000, 2000, -1 }, 4, 200, 4000)]
    [InlineData("TestReplicaCalcMissingMetricsScaleDown", 4, "1.0", "RRRR", 50, new long[] { 100, 100, 100, -1 }, 3, 10, 200)]
    [InlineData("TestReplicaCalcMissingMetricsUnreadyScaleUp", 3, "1.0", "URR", 50, new long[] { 100, 2000, -1 }, 4, 200, 4000)]
    [InlineData("TestReplicaCalcMissingMetricsUnreadyScaleDown", 4, "1.0", "URRR", 50, new long[] { 100, 100, 100, -1 }, 3, 10, 200)]
    [InlineData("TestReplicaCalcMissingMetricsUnreadyChange", 3, "1.0", "URR", 50, new long[] { 100, 450, -1 }, 3, 45, 900)]
    [InlineData("TestReplicaCalcSuperfluousMetrics (as many Pods as samples)", 4, "1.0", "RRRR", 100, new long[] { 4000, 9500, 3000, 7000 }, 24, 587, 11750)]
    [InlineData("TestReplicaCalcDuringRollingUpdateWithMaxSurge", 2, "1.0", "RRR", 50, new long[] { 100, 100, -1 }, 2, 10, 200)]
    public void UtilizationTargets(string name, int current, string requests, string readiness, int target, long[] levels, int replicas, int utilization, long raw)
    {
        var (pods, metrics) = Setup(requests, readiness, levels);
        var proposal = ReplicaCalculator.Default.ResourceReplicas(current, target, "cpu", pods, metrics, Now, Now);
        Assert.True((replicas, utilization, raw) == (proposal.Replicas, proposal.Utilization, proposal.RawAverage),
            $"{name}: expected {replicas} replicas at {utilization} % ({raw}m), got {proposal.Replicas} at {proposal.Utilization} % ({proposal.RawAverage}m)");
    }

    [Fact]
    public void AverageValueTargetsCompareTheRawAverage()
    {
        // TestReplicaCalcScaleUpCMObject's Resource twin: target 600m per Pod, Pods use 2·(300, 500, 700) -> 1000m on average.
        var (pods, metrics) = Setup("1.0", "RRR", 300, 500, 700);
        var up = ReplicaCalculator.Default.RawResourceReplicas(3, 600, "cpu", pods, metrics, Now, Now);
        Assert.Equal((5, 1000L), (up.Replicas, up.RawAverage));
        Assert.Null(up.Utilization);
        var steady = ReplicaCalculator.Default.RawResourceReplicas(3, 1050, "cpu", pods, metrics, Now, Now);
        Assert.Equal(3, steady.Replicas);
    }

    [Fact]
    public void TheControllersErrorsSayWhatIsMissing()
    {
        var (pods, metrics) = Setup("1.0", "RR", 100, 100);
        pods[1].Spec.Containers[1].Resources.Requests.Remove("cpu");
        var e = Assert.Throws<ReplicaCalculationException>(() => ReplicaCalculator.Default.ResourceReplicas(2, 50, "cpu", pods, metrics, Now, Now));
        Assert.Equal("missing request for cpu in container c1 of Pod pod-1", e.Message);

        Assert.Equal("no pods returned by selector while calculating replica count",
            Assert.Throws<ReplicaCalculationException>(() => ReplicaCalculator.Default.ResourceReplicas(2, 50, "cpu", [], metrics, Now, Now)).Message);
        var (unready, unreadyMetrics) = Setup("1.0", "UU", 100, 100);
        Assert.Equal("did not receive metrics for targeted pods (pods might be unready)",
            Assert.Throws<ReplicaCalculationException>(() => ReplicaCalculator.Default.ResourceReplicas(2, 50, "cpu", unready, unreadyMetrics, Now, Now)).Message);
        Assert.Equal("no metrics returned from resource metrics API",
            Assert.Throws<ReplicaCalculationException>(() => ReplicaCalculator.PodMetrics([], "cpu")).Message);
    }

    [Fact]
    public void CpuOfAPodWithinItsInitializationPeriodCountsOnlyOnceItsSampleFollowsReadiness()
    {
        // Started 1 min ago, Ready 20 s ago: a sample taken 5 s ago over a 15 s window began before the
        // Pod was Ready, so it is unready (and, scaling up, counts 0); a later sample counts.
        var (pods, _) = Setup("1.0", "RR", 100, 900);
        var hot = pods[1];
        hot.Status.StartTime = Now.AddMinutes(-1);
        hot.Status.Conditions[0].LastTransitionTime = Now.AddSeconds(-20);
        var early = new Dictionary<string, PodMetric>
        {
            ["pod-0"] = new(200, Now.AddSeconds(-5), TimeSpan.FromSeconds(15)),
            ["pod-1"] = new(1800, Now.AddSeconds(-10), TimeSpan.FromSeconds(15)),
        };
        var proposal = ReplicaCalculator.Default.ResourceReplicas(2, 5, "cpu", pods, early, Now, Now);
        // Only pod-0 counts at first: 200/2000 = 10 %, ratio 2 with an unready Pod; counting it at 0: 5 %, within tolerance of 5 %.
        Assert.Equal((2, 10), (proposal.Replicas, proposal.Utilization));
        var late = new Dictionary<string, PodMetric>(early) { ["pod-1"] = new(1800, Now, TimeSpan.FromSeconds(15)) };
        Assert.Equal(50, ReplicaCalculator.Default.ResourceReplicas(2, 5, "cpu", pods, late, Now, Now).Utilization);
    }

    [Fact]
    public void MemoryMetricsAreMilliBytesAndIgnoreReadiness()
    {
        var (pods, _) = Setup("1.0", "UR", 100, 100);
        var samples = new[]
        {
            new PodUsage("default", "pod-0", Now, TimeSpan.FromSeconds(15), [new ContainerUsage("c0", 1, 1024 * 1024), new ContainerUsage("c1", 1, 1024 * 1024)]),
            new PodUsage("default", "pod-1", Now, TimeSpan.FromSeconds(15), [new ContainerUsage("c0", 1, 512 * 1024), new ContainerUsage("c1", 1, 512 * 1024)]),
        };
        var (metrics, _) = ReplicaCalculator.PodMetrics(samples, "memory");
        Assert.Equal(2L * 1024 * 1024 * 1000, metrics["pod-0"].Value);
        // Requests 2 Mi per Pod; usage 2 Mi and 1 Mi: 75 % against a target of 50 -> 3 replicas; the unready Pod still counts.
        var proposal = ReplicaCalculator.Default.ResourceReplicas(2, 50, "memory", pods, metrics, Now, Now);
        Assert.Equal((3, 75), (proposal.Replicas, proposal.Utilization));
    }
}
