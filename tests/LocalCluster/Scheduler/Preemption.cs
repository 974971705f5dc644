using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>A node where preempting <see cref="Victims"/> would let the Pod run.</summary>
/// <param name="NodeName">The node to nominate.</param>
/// <param name="Victims">The lower-priority Pods to evict there, highest priority first.</param>
internal sealed record PreemptionCandidate(string NodeName, IReadOnlyList<V1Pod> Victims);

/// <summary>
/// DefaultPreemption's PostFilter as a dry run (kubernetes
/// <c>pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go</c>, <c>PostFilter</c>,
/// and <c>pkg/scheduler/framework/preemption/preemption.go</c>, <c>Evaluator.Preempt</c>): a Pod with
/// <c>preemptionPolicy: Never</c> is not eligible; nodes rejected as unresolvable are not tried
/// ("Preemption is not helpful for scheduling"); on the others every Pod of lower priority is
/// removed (none: "No preemption victims found for incoming pod"), the filters run again (their
/// reasons if the Pod still does not fit), then victims are reprieved from the highest priority
/// down while the Pod still fits (<c>SelectVictimsOnNode</c>). Candidates are ranked by the
/// highest victim priority, the sum of victim priorities, then the number of victims
/// (<c>pickOneNodeForPreemption</c>, without its PodDisruptionBudget criterion: budgets are not read here).
/// </summary>
internal static class Preemption
{
    /// <summary>The status given to nodes the dry run did not try.</summary>
    public const string NotHelpful = "Preemption is not helpful for scheduling";

    /// <summary>The status of a node with no lower-priority Pod.</summary>
    public const string NoVictims = "No preemption victims found for incoming pod";

    /// <summary>
    /// The PostFilter outcome: the best candidate (then the message is null, as a successful
    /// preemption adds none), or the <c>preemption: ...</c> message and no candidate.
    /// </summary>
    public static (PreemptionCandidate? Candidate, string? Message) Evaluate(
        V1Pod pod, ClusterSnapshot cluster, IReadOnlyList<NodeInfo> nodes, IReadOnlyDictionary<string, NodeStatus> statuses)
    {
        if (pod.Spec?.PreemptionPolicy == "Never") return (null, "preemption: not eligible due to preemptionPolicy=Never.");
        var priority = Priority(pod);
        var dryRun = new Dictionary<string, NodeStatus>(StringComparer.Ordinal);
        var candidates = new List<PreemptionCandidate>();
        foreach (var node in nodes)
        {
            if (!statuses.TryGetValue(node.Name, out var status) || status.Code == RejectionCode.UnschedulableAndUnresolvable) continue;
            var potential = node.Pods.Where(p => Priority(p) < priority).ToList();
            if (potential.Count == 0)
            {
                dryRun[node.Name] = NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, "DefaultPreemption", NoVictims);
                continue;
            }
            var removed = new HashSet<V1Pod>(potential, ReferenceEqualityComparer.Instance);
            if (FilterWithout(pod, cluster, node.Name, removed) is { } still)
            {
                dryRun[node.Name] = still;
                continue;
            }
            var victims = new List<V1Pod>();
            foreach (var p in potential.OrderByDescending(Priority).ThenBy(p => p.Status?.StartTime ?? DateTime.MaxValue))
            {
                removed.Remove(p);
                if (FilterWithout(pod, cluster, node.Name, removed) is not null)
                {
                    removed.Add(p);
                    victims.Add(p);
                }
            }
            candidates.Add(new PreemptionCandidate(node.Name, victims));
        }
        if (candidates.Count > 0)
        {
            var best = candidates
                .OrderBy(c => c.Victims.Count == 0 ? int.MinValue : c.Victims.Max(Priority))
                .ThenBy(c => c.Victims.Sum(v => (long)Priority(v) - int.MinValue))
                .ThenBy(c => c.Victims.Count)
                .First();
            return (best, null);
        }
        return (null, "preemption: " + FitError.Message(nodes.Count, dryRun, NotHelpful, null));
    }

    /// <summary>The Pod's priority (<c>spec.priority</c>, 0 when unset).</summary>
    public static int Priority(V1Pod pod) => pod.Spec?.Priority ?? 0;

    private static NodeStatus? FilterWithout(V1Pod pod, ClusterSnapshot cluster, string nodeName, IReadOnlySet<V1Pod> removed)
    {
        var cycle = new SchedulingCycle(pod, cluster.Without(removed));
        return cycle.Filter(cycle.Nodes.First(n => n.Name == nodeName));
    }
}
