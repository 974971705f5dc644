using k8s.Models;
using UserApiOperator.Controllers;
using UserApiOperator.Entities;

namespace UserApiOperator.Tests.Controller;

/// <summary>The reconcile log line says what happened, and nothing that did not.</summary>
public sealed class ReconcileSummaryTests
{
    private static ReconcileReport Report(params (Child Child, ChildOutcome Outcome)[] outcomes)
    {
        var report = new ReconcileReport();
        foreach (var (child, outcome) in outcomes)
        {
            report[child] = outcome;
        }

        return report;
    }

    [Fact]
    public void A_first_reconcile_lists_every_object_it_made()
    {
        var report = Report((Child.Secret, ChildOutcome.Created), (Child.Deployment, ChildOutcome.Created), (Child.Service, ChildOutcome.Created), (Child.Ingress, ChildOutcome.Created));
        Assert.Equal("secret=created deployment=created service=created ingress=created ready=0/3", ReconcileSummary.ForLog(report, new UserApiStatus(), 3));
    }

    [Fact]
    public void A_status_only_reconcile_does_not_list_unchanged_objects()
    {
        var report = Report((Child.Secret, ChildOutcome.Unchanged), (Child.Deployment, ChildOutcome.Unchanged), (Child.Service, ChildOutcome.Unchanged), (Child.Ingress, ChildOutcome.Unchanged));
        Assert.Equal("objects unchanged, ready=3/3", ReconcileSummary.ForLog(report, new UserApiStatus { ReadyReplicas = 3 }, 3));
    }

    [Fact]
    public void Scaling_down_shows_the_pods_being_removed_not_a_ratio_above_one()
    {
        var report = Report((Child.Deployment, ChildOutcome.Updated));
        Assert.Equal("deployment=updated ready=3/3, 2 more being removed", ReconcileSummary.ForLog(report, new UserApiStatus { ReadyReplicas = 5 }, 3));
    }

    [Fact]
    public void A_referenced_secret_is_referenced_not_absent()
    {
        var report = Report((Child.Secret, ChildOutcome.Referenced), (Child.Deployment, ChildOutcome.Created));
        var line = ReconcileSummary.ForLog(report, new UserApiStatus
        {
            Conditions = [new V1Condition { Type = "Degraded", Status = "False", Reason = "AsExpected", Message = "" }],
        }, 1);
        Assert.Equal("secret=referenced deployment=created ready=0/1", line);
    }

    [Fact]
    public void The_autoscaler_budget_and_network_policy_are_named_by_their_kinds_after_the_Ingress()
    {
        var report = Report((Child.NetworkPolicy, ChildOutcome.Deleted), (Child.HorizontalPodAutoscaler, ChildOutcome.Created), (Child.PodDisruptionBudget, ChildOutcome.Updated), (Child.Ingress, ChildOutcome.Unchanged));

        Assert.Equal("horizontalpodautoscaler=created poddisruptionbudget=updated networkpolicy=deleted ready=0/2", ReconcileSummary.ForLog(report, new UserApiStatus(), 2));
        var userApi = new V1Alpha1UserApi { Metadata = new V1ObjectMeta { Name = "a" } };
        Assert.Equal(("Created", "Created HorizontalPodAutoscaler a, updated PodDisruptionBudget a, deleted NetworkPolicy a"), ReconcileSummary.ForEvent(userApi, report));
    }
}
