namespace LocalCluster.Scheduler;

/// <summary>A filter plugin of one scheduling cycle (its PreFilter state is computed when it is built).</summary>
internal interface IFilterPlugin
{
    /// <summary>The plugin's name, as kube-scheduler registers it.</summary>
    string Name { get; }

    /// <summary>Null when the Pod may run on the node, else why not.</summary>
    NodeStatus? Filter(NodeInfo node);
}

/// <summary>A score plugin of one scheduling cycle.</summary>
internal interface IScorePlugin
{
    /// <summary>The plugin's name, as kube-scheduler registers it.</summary>
    string Name { get; }

    /// <summary>The plugin's weight in the default profile (<c>pkg/scheduler/apis/config/v1/default_plugins.go</c>).</summary>
    int Weight { get; }

    /// <summary>PreScore over the nodes that passed the filters; false when the plugin skips this Pod (it adds nothing).</summary>
    bool PreScore(IReadOnlyList<NodeInfo> feasible);

    /// <summary>The raw score of one feasible node.</summary>
    long Score(NodeInfo node);

    /// <summary>NormalizeScore: rewrites the raw scores (by node name) into 0..100.</summary>
    void Normalize(IDictionary<string, long> scores);
}

/// <summary>Score helpers of kube-scheduler (<c>pkg/scheduler/framework/plugins/helper/normalize_score.go</c>).</summary>
internal static class Scores
{
    /// <summary><c>framework.MaxNodeScore</c>.</summary>
    public const long MaxNodeScore = 100;

    /// <summary>
    /// <c>DefaultNormalizeScore</c>: scales the scores so that the largest becomes
    /// <paramref name="maxPriority"/> (integer division), reversed (max - score) when asked; all
    /// zero stays zero, or becomes max when reversed.
    /// </summary>
    public static void DefaultNormalize(long maxPriority, bool reverse, IDictionary<string, long> scores)
    {
        var max = scores.Count == 0 ? 0 : scores.Values.Max();
        var keys = scores.Keys.ToList();
        if (max == 0)
        {
            if (reverse)
            {
                foreach (var k in keys) scores[k] = maxPriority;
            }
            return;
        }
        foreach (var k in keys)
        {
            var score = maxPriority * scores[k] / max;
            scores[k] = reverse ? maxPriority - score : score;
        }
    }
}
