using k8s.Models;
using LocalCluster.Controllers.Disruption;

namespace LocalCluster.Tests.Disruption;

/// <summary>After the cases of kubernetes pkg/controller/disruption/disruption_test.go.</summary>
public class BudgetSyncTests
{
    private static readonly DateTime Now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    private static V1PodDisruptionBudget Budget(IntOrString? minAvailable = null, IntOrString? maxUnavailable = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default", Generation = 1 },
        Spec = new V1PodDisruptionBudgetSpec
        {
            MinAvailable = minAvailable,
            MaxUnavailable = maxUnavailable,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } },
        },
    };

    private static V1Pod Pod(string name, bool ready, string? controllerUid = "rc-1") => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = "default", Labels = new Dictionary<string, string> { ["app"] = "web" },
            OwnerReferences = controllerUid is null ? null : [new V1OwnerReference { ApiVersion = "v1", Kind = "ReplicationController", Name = controllerUid, Uid = controllerUid, Controller = true }],
        },
        Status = new V1PodStatus { Phase = "Running", Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }] },
    };

    private static List<V1Pod> Pods(int ready, int unready = 0, string? controllerUid = "rc-1") =>
        [.. Enumerable.Range(0, ready).Select(i => Pod($"ready-{i}", true, controllerUid)), .. Enumerable.Range(0, unready).Select(i => Pod($"unready-{i}", false, controllerUid))];

    private static Func<V1OwnerReference, ControllerScale> Scales(params (string Uid, int Scale)[] controllers) =>
        owner => controllers.FirstOrDefault(c => c.Uid == owner.Uid) is { Uid: not null } c ? new ControllerScale(c.Uid, c.Scale) : ControllerScale.NotFound;

    private static (int? Expected, int? Healthy, int? Desired, int? Allowed, string Reason) Figures(BudgetSyncResult r) =>
        (r.Status.ExpectedPods, r.Status.CurrentHealthy, r.Status.DesiredHealthy, r.Status.DisruptionsAllowed,
         r.Status.Conditions.Single(c => c.Type == "DisruptionAllowed").Reason);

    [Fact]
    public void IntegerMinAvailableCountsTheSelectedPods()
    {
        // TestUnavailable: minAvailable 3 and four ready Pods allow one disruption; one unready allows none.
        var pdb = Budget(minAvailable: 3);
        Assert.Equal((4, 4, 3, 1, "SufficientPods"), Figures(BudgetSync.Compute(pdb, Pods(4), Scales(), Now)));
        Assert.Equal((4, 3, 3, 0, "InsufficientPods"), Figures(BudgetSync.Compute(pdb, Pods(3, 1), Scales(), Now)));
    }

    [Theory]
    // TestReplicationController: minAvailable 34% of an RC of 3 rounds up to 2.
    [InlineData("34%", 1, 0)]
    [InlineData("34%", 2, 0)]
    [InlineData("34%", 3, 1)]
    public void PercentMinAvailableScalesTheControllersReplicasRoundingUp(string minAvailable, int ready, int allowed)
    {
        var result = BudgetSync.Compute(Budget(minAvailable: minAvailable), Pods(ready), Scales(("rc-1", 3)), Now);
        Assert.Equal((3, ready, 2, allowed), (result.Status.ExpectedPods, result.Status.CurrentHealthy, result.Status.DesiredHealthy, result.Status.DisruptionsAllowed));
    }

    [Fact]
    public void ExpectedPodsAddUpEveryControllerOnce()
    {
        // TestTwoControllers: 28% of 11 + 11 = 6.16, rounded up to 7.
        var pods = Pods(11, controllerUid: "rc-1").Concat(Pods(11, controllerUid: "rs-1").Select(p => { p.Metadata.Name += "-b"; return p; })).ToList();
        var result = BudgetSync.Compute(Budget(minAvailable: "28%"), pods, Scales(("rc-1", 11), ("rs-1", 11)), Now);
        Assert.Equal((22, 22, 7, 15, "SufficientPods"), Figures(result));
    }

    [Theory]
    // TestIntegerMaxUnavailable and TestIntegerMaxUnavailableWithScaling; a percentage rounds up too.
    [InlineData("1", 3, 3, 2, 1)]
    [InlineData("1", 3, 2, 2, 0)]
    [InlineData("50%", 3, 3, 1, 2)]
    [InlineData("5", 3, 3, 0, 3)]
    public void MaxUnavailableSubtractsFromTheControllersReplicas(string maxUnavailable, int scale, int ready, int desired, int allowed)
    {
        var result = BudgetSync.Compute(Budget(maxUnavailable: maxUnavailable), Pods(ready), Scales(("rc-1", scale)), Now);
        Assert.Equal((scale, desired, allowed), (result.Status.ExpectedPods, result.Status.DesiredHealthy, result.Status.DisruptionsAllowed));
    }

    [Fact]
    public void APodWithoutAControllerItsFindersKnowFailsSafe()
    {
        var pdb = Budget(maxUnavailable: 1);
        pdb.Status = new V1PodDisruptionBudgetStatus { DisruptionsAllowed = 1, ObservedGeneration = 1, CurrentHealthy = 3, DesiredHealthy = 2, ExpectedPods = 3 };
        var result = BudgetSync.Compute(pdb, Pods(3), Scales(), Now);
        Assert.Equal("found no controllers for pod \"ready-0\"", result.Error);
        Assert.True(result.Changed);
        Assert.Equal(0, result.Status.DisruptionsAllowed);
        var condition = result.Status.Conditions.Single();
        Assert.Equal(("False", "SyncFailed", "found no controllers for pod \"ready-0\""), (condition.Status, condition.Reason, condition.Message));
        Assert.Contains(result.Events, e => e.Reason == "CalculateExpectedPodCountFailed"
            && e.Message == "Failed to calculate the number of expected pods: found no controllers for pod \"ready-0\"");
    }

    [Fact]
    public void UnmanagedPodsAreReportedAndLeftOutOfTheExpectedCount()
    {
        var pods = Pods(2).Append(Pod("orphan", true, controllerUid: null)).ToList();
        var result = BudgetSync.Compute(Budget(maxUnavailable: 1), pods, Scales(("rc-1", 2)), Now);
        Assert.Equal((2, 3, 1, 2), (result.Status.ExpectedPods, result.Status.CurrentHealthy, result.Status.DesiredHealthy, result.Status.DisruptionsAllowed));
        Assert.Contains(result.Events, e => e.Reason == "UnmanagedPods" && e.Type == "Warning");
    }

    [Fact]
    public void NoPodsAllowNoDisruption()
    {
        var result = BudgetSync.Compute(Budget(minAvailable: 0), [], Scales(), Now);
        Assert.Equal((0, 0, 0, 0, "InsufficientPods"), Figures(result));
        Assert.Contains(result.Events, e => e is { Reason: "NoPods", Message: "No matching pods found" });
    }

    [Fact]
    public void DisruptedPodsDoNotCountUntilTheyAreDeletedOrTimeOut()
    {
        // TestUpdateDisruptedPods: a recent entry keeps its Pod out of currentHealthy; an entry past the
        // 2-minute deletion timeout is dropped (NotDeleted), and the next expiry is when to look again.
        var pdb = Budget(minAvailable: 1);
        pdb.Status = new V1PodDisruptionBudgetStatus
        {
            DisruptedPods = new Dictionary<string, DateTime?> { ["ready-0"] = Now.AddSeconds(-30), ["ready-1"] = Now.AddMinutes(-3), ["gone"] = Now },
        };
        var result = BudgetSync.Compute(pdb, Pods(3), Scales(), Now);
        Assert.Equal(["ready-0"], result.Status.DisruptedPods.Keys);
        Assert.Equal(2, result.Status.CurrentHealthy);
        Assert.Equal(Now.AddSeconds(90), result.RecheckAt);
        Assert.Contains(result.Events, e => e.Reason == "NotDeleted" && e.Object.Metadata.Name == "ready-1"
            && e.Message == "Pod was expected by PDB default/default to be deleted but it wasn't");
    }

    [Fact]
    public void AnUpToDateStatusIsNotWrittenAgain()
    {
        var pdb = Budget(minAvailable: 3);
        var first = BudgetSync.Compute(pdb, Pods(4), Scales(), Now);
        Assert.True(first.Changed);
        pdb.Status = first.Status;
        var second = BudgetSync.Compute(pdb, Pods(4), Scales(), Now.AddMinutes(1));
        Assert.False(second.Changed);
        Assert.Equal(1, second.Status.ObservedGeneration);
        Assert.Equal(Now, second.Status.Conditions.Single().LastTransitionTime);

        pdb.Metadata.Generation = 2;
        var third = BudgetSync.Compute(pdb, Pods(4), Scales(), Now.AddMinutes(2));
        Assert.True(third.Changed);
        Assert.Equal(2, third.Status.ObservedGeneration);
        Assert.Equal(2, third.Status.Conditions.Single().ObservedGeneration);
        Assert.Equal(Now, third.Status.Conditions.Single().LastTransitionTime);
    }
}
