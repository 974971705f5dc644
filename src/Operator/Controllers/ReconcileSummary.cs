using System.Text;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;

namespace UserApiOperator.Controllers;

/// <summary>How a reconcile is described to people: the log summary and the Event message.</summary>
public static class ReconcileSummary
{
    /// <summary>
    /// One-line summary for the log: the outcome of each object that was not simply left as it was,
    /// then readiness and any Degraded reason, for example
    /// <c>secret=created deployment=created service=created ingress=created ready=0/3</c>, or
    /// <c>objects unchanged, ready=3/3</c> for a reconcile that only wrote the status. While Pods
    /// above the desired count are still being removed it says so (<c>ready=3/3, 2 more being
    /// removed</c>) instead of a ratio above one.
    /// </summary>
    public static string ForLog(ReconcileReport report, UserApiStatus status, int desiredReplicas)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(status);
        var text = new StringBuilder();
        var listed = report.Outcomes.Where(o => o.Value != ChildOutcome.Unchanged).ToList();
        foreach (var (child, outcome) in listed)
        {
            text.Append(child.ToString().ToLowerInvariant()).Append('=').Append(outcome.ToString().ToLowerInvariant()).Append(' ');
        }

        if (listed.Count == 0)
        {
            text.Append("objects unchanged, ");
        }

        var ready = status.ReadyReplicas ?? 0;
        text.Append("ready=").Append(Math.Min(ready, desiredReplicas)).Append('/').Append(desiredReplicas);
        if (ready > desiredReplicas)
        {
            text.Append(", ").Append(ready - desiredReplicas).Append(" more being removed");
        }

        if (Conditions.Find(status.Conditions, Conditions.Degraded) is { Status: Conditions.True } degraded)
        {
            text.Append(" degraded=").Append(degraded.Reason).Append(": ").Append(degraded.Message);
        }

        return text.ToString();
    }

    /// <summary>
    /// The Event for the objects a reconcile changed, or null when none changed: reason <c>Created</c>
    /// when any was created, else <c>Updated</c>; message like <c>Created Secret a-mysql, created Deployment a</c>.
    /// </summary>
    public static (string Reason, string Message)? ForEvent(V1Alpha1UserApi userApi, ReconcileReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var changed = report.Changed.ToList();
        if (changed.Count == 0)
        {
            return null;
        }

        var reason = changed.Any(p => p.Value == ChildOutcome.Created) ? "Created" : "Updated";
        var message = string.Join(", ", changed.Select(p => $"{p.Value.ToString().ToLowerInvariant()} {p.Key} {Name(userApi, p.Key)}"));
        return (reason, char.ToUpperInvariant(message[0]) + message[1..]);
    }

    private static string Name(V1Alpha1UserApi userApi, Child child) =>
        child == Child.Secret ? UserApiNames.GeneratedSecret(userApi) : UserApiNames.Workload(userApi);
}
