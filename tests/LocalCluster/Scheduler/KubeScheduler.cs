using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>The outcome of scheduling one Pod.</summary>
internal sealed record ScheduleResult
{
    /// <summary>The chosen node, or null when the Pod fits none.</summary>
    public string? NodeName { get; init; }

    /// <summary>
    /// When <see cref="NodeName"/> is null: the message kube-scheduler writes in the
    /// <c>FailedScheduling</c> Event and the <c>PodScheduled=False</c> condition, e.g.
    /// <c>0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
    /// affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for
    /// incoming pod, 2 Preemption is not helpful for scheduling.</c>
    /// </summary>
    public string? Message { get; init; }

    /// <summary>The nodes the filters rejected, by name.</summary>
    public IReadOnlyDictionary<string, NodeStatus> Rejected { get; init; } = new Dictionary<string, NodeStatus>();

    /// <summary>The weighted sum of the normalized scores of each feasible node (empty when at most one node was feasible).</summary>
    public IReadOnlyDictionary<string, long> Scores { get; init; } = new Dictionary<string, long>();

    /// <summary>The normalized, weighted scores per plugin, then per node.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, long>> PluginScores { get; init; } = new Dictionary<string, Dictionary<string, long>>();

    /// <summary>When the Pod fits nowhere but preempting lower-priority Pods would make room: where, and whom.</summary>
    public PreemptionCandidate? Preemption { get; init; }
}

/// <summary>
/// kube-scheduler's decision for one Pod, as a pure function (kubernetes
/// <c>pkg/scheduler/schedule_one.go</c>, <c>schedulePod</c>, <c>findNodesThatFitPod</c>,
/// <c>prioritizeNodes</c>, <c>selectHost</c>): no nodes is <c>no nodes available to schedule pods</c>;
/// every node is filtered (a cluster this small is below the 100-node floor of
/// <c>percentageOfNodesToScore</c>); no feasible node is a <see cref="FitError"/> with the
/// preemption dry run's message; one feasible node is chosen without scoring; otherwise the
/// highest total score wins, ties broken uniformly at random (reservoir sampling, as <c>selectHost</c>).
/// </summary>
internal static class KubeScheduler
{
    /// <summary>The message when the cluster has no node (<c>ErrNoNodesAvailable</c>).</summary>
    public const string NoNodesAvailable = "no nodes available to schedule pods";

    /// <summary>Schedules <paramref name="pod"/> on <paramref name="cluster"/>.</summary>
    /// <param name="pod">The Pod to place (its own <c>spec.nodeName</c> is honoured by the NodeName filter).</param>
    /// <param name="cluster">Nodes, Pods and the selectors for default spreading.</param>
    /// <param name="random">Breaks ties between equally scored nodes; <see cref="Random.Shared"/> when null.</param>
    public static ScheduleResult Schedule(V1Pod pod, ClusterSnapshot cluster, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Nodes.Count == 0) return new ScheduleResult { Message = NoNodesAvailable };

        var cycle = new SchedulingCycle(pod, cluster);
        var rejected = new Dictionary<string, NodeStatus>(StringComparer.Ordinal);
        var feasible = new List<NodeInfo>();
        foreach (var node in cycle.Nodes)
        {
            if (cycle.Filter(node) is { } status) rejected[node.Name] = status;
            else feasible.Add(node);
        }

        if (feasible.Count == 0)
        {
            var (candidate, postFilter) = Preemption.Evaluate(pod, cluster, cycle.Nodes, rejected);
            return new ScheduleResult
            {
                Message = FitError.Message(cycle.Nodes.Count, rejected, null, postFilter),
                Rejected = rejected,
                Preemption = candidate,
            };
        }
        if (feasible.Count == 1) return new ScheduleResult { NodeName = feasible[0].Name, Rejected = rejected };

        var perPlugin = cycle.Score(feasible);
        var totals = feasible.ToDictionary(n => n.Name, n => perPlugin.Values.Sum(s => s[n.Name]), StringComparer.Ordinal);
        return new ScheduleResult
        {
            NodeName = SelectHost(feasible.Select(n => n.Name), totals, random ?? Random.Shared),
            Rejected = rejected,
            Scores = totals,
            PluginScores = perPlugin,
        };
    }

    /// <summary><c>selectHost</c>: the highest score; among equal ones each is chosen with equal chance.</summary>
    private static string SelectHost(IEnumerable<string> order, IReadOnlyDictionary<string, long> scores, Random random)
    {
        string? selected = null;
        var best = long.MinValue;
        var ties = 0;
        foreach (var name in order)
        {
            var score = scores[name];
            if (score > best)
            {
                best = score;
                selected = name;
                ties = 1;
            }
            else if (score == best)
            {
                ties++;
                if (random.Next(ties) == 0) selected = name;
            }
        }
        return selected!;
    }
}
