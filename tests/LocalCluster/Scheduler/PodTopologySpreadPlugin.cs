using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// PodTopologySpread (kubernetes <c>pkg/scheduler/framework/plugins/podtopologyspread/</c>).
/// <para><c>Filter</c> (<c>filtering.go</c>): for each DoNotSchedule constraint, the matching Pods
/// are counted per topology domain over the nodes that carry every constraint's topology key and
/// pass the constraint's node inclusion policies; a node without the key is rejected ("missing
/// required label", unresolvable); a node is rejected when <c>count(its domain) + (1 if the Pod
/// matches its own selector) - global minimum &gt; maxSkew</c>, the global minimum being 0 while
/// fewer domains than <c>minDomains</c> exist.</para>
/// <para><c>Score</c> (<c>scoring.go</c>): for the ScheduleAnyway constraints (the system defaults
/// when the Pod has none), each feasible node scores <c>Σ count(domain) · log(domains + 2) + maxSkew - 1</c>
/// (hostname domains counted per node), and <c>NormalizeScore</c> maps the fewest to 100:
/// <c>100 · (max + min - score) / max</c>. With the system defaults a node lacking the zone label is
/// still scored by hostname; with the Pod's own constraints it scores 0.</para>
/// </summary>
internal sealed class PodTopologySpreadPlugin : IFilterPlugin, IScorePlugin
{
    /// <summary>The rejection reason for a skew too large (<c>ErrReasonConstraintsNotMatch</c>).</summary>
    public const string ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";

    /// <summary>The rejection reason for a node without the topology key (<c>ErrReasonNodeLabelNotMatch</c>).</summary>
    public const string ErrReasonNodeLabelNotMatch = ErrReasonConstraintsNotMatch + " (missing required label)";

    private const string Hostname = "kubernetes.io/hostname";

    private readonly V1Pod _pod;
    private readonly ClusterSnapshot _cluster;
    private readonly IReadOnlyList<NodeInfo> _allNodes;
    private readonly IReadOnlyList<SpreadConstraint> _hard;
    private readonly Dictionary<(string Key, string Value), int> _matchNum = [];
    private readonly Dictionary<string, int> _domains = [];
    private readonly Dictionary<string, int> _minMatch = [];

    private IReadOnlyList<SpreadConstraint> _soft = [];
    private HashSet<string> _ignored = [];
    private List<Dictionary<string, long>> _softCounts = [];
    private List<double> _weights = [];

    /// <summary>Computes the PreFilter state: the hard constraints' counts per domain over all nodes.</summary>
    public PodTopologySpreadPlugin(V1Pod pod, ClusterSnapshot cluster, IReadOnlyList<NodeInfo> allNodes)
    {
        _pod = pod;
        _cluster = cluster;
        _allNodes = allNodes;
        _hard = SpreadConstraint.For(pod, cluster, "DoNotSchedule");
        if (_hard.Count == 0) return;
        foreach (var node in allNodes)
        {
            if (!HasAllKeys(node, _hard)) continue;
            foreach (var c in _hard)
            {
                if (!c.Includes(pod, node.Node)) continue;
                var pair = (c.TopologyKey, node.Labels[c.TopologyKey]);
                _matchNum[pair] = _matchNum.GetValueOrDefault(pair) + c.Count(node, pod.Metadata.NamespaceProperty);
            }
        }
        foreach (var ((key, _), num) in _matchNum)
        {
            _domains[key] = _domains.GetValueOrDefault(key) + 1;
            _minMatch[key] = Math.Min(_minMatch.GetValueOrDefault(key, int.MaxValue), num);
        }
    }

    /// <inheritdoc cref="IFilterPlugin.Name"/>
    public string Name => "PodTopologySpread";

    /// <inheritdoc/>
    public int Weight => 2;

    /// <inheritdoc/>
    public NodeStatus? Filter(NodeInfo node)
    {
        foreach (var c in _hard)
        {
            if (!node.Labels.TryGetValue(c.TopologyKey, out var value))
            {
                return NodeStatus.Of(RejectionCode.UnschedulableAndUnresolvable, Name, ErrReasonNodeLabelNotMatch);
            }
            var min = _minMatch.GetValueOrDefault(c.TopologyKey, int.MaxValue);
            if (_domains.GetValueOrDefault(c.TopologyKey) < c.MinDomains) min = 0;
            var self = c.Selector.Matches(_pod.Metadata.Labels) ? 1 : 0;
            var skew = (long)_matchNum.GetValueOrDefault((c.TopologyKey, value)) + self - min;
            if (skew > c.MaxSkew) return NodeStatus.Of(RejectionCode.Unschedulable, Name, ErrReasonConstraintsNotMatch);
        }
        return null;
    }

    /// <inheritdoc/>
    public bool PreScore(IReadOnlyList<NodeInfo> feasible)
    {
        if (_allNodes.Count == 0) return false;
        var systemDefaulted = _pod.Spec?.TopologySpreadConstraints is not { Count: > 0 };
        _soft = SpreadConstraint.For(_pod, _cluster, "ScheduleAnyway");
        if (_soft.Count == 0) return false;
        var requireAll = !systemDefaulted;
        _ignored = [];
        _softCounts = [.. _soft.Select(_ => new Dictionary<string, long>())];
        var sizes = new int[_soft.Count];
        foreach (var node in feasible)
        {
            if (requireAll && !HasAllKeys(node, _soft))
            {
                _ignored.Add(node.Name);
                continue;
            }
            for (var i = 0; i < _soft.Count; i++)
            {
                if (_soft[i].TopologyKey == Hostname) continue;
                var value = node.Labels.TryGetValue(_soft[i].TopologyKey, out var v) ? v : "";
                if (_softCounts[i].TryAdd(value, 0)) sizes[i]++;
            }
        }
        _weights = [.. _soft.Select((c, i) => Math.Log((c.TopologyKey == Hostname ? feasible.Count - _ignored.Count : sizes[i]) + 2))];
        foreach (var node in _allNodes)
        {
            if (requireAll && !HasAllKeys(node, _soft)) continue;
            for (var i = 0; i < _soft.Count; i++)
            {
                var c = _soft[i];
                if (!c.Includes(_pod, node.Node)) continue;
                var value = node.Labels.TryGetValue(c.TopologyKey, out var v) ? v : "";
                if (!_softCounts[i].ContainsKey(value)) continue;
                _softCounts[i][value] += c.Count(node, _pod.Metadata.NamespaceProperty);
            }
        }
        return true;
    }

    /// <inheritdoc/>
    public long Score(NodeInfo node)
    {
        if (_ignored.Contains(node.Name)) return 0;
        double score = 0;
        for (var i = 0; i < _soft.Count; i++)
        {
            var c = _soft[i];
            if (!node.Labels.TryGetValue(c.TopologyKey, out var value)) continue;
            long count = c.TopologyKey == Hostname ? c.Count(node, _pod.Metadata.NamespaceProperty) : _softCounts[i][value];
            score += count * _weights[i] + (c.MaxSkew - 1);
        }
        return (long)Math.Round(score, MidpointRounding.AwayFromZero);
    }

    /// <inheritdoc/>
    public void Normalize(IDictionary<string, long> scores)
    {
        long min = long.MaxValue, max = 0;
        foreach (var (name, score) in scores)
        {
            if (_ignored.Contains(name)) continue;
            min = Math.Min(min, score);
            max = Math.Max(max, score);
        }
        foreach (var name in scores.Keys.ToList())
        {
            if (_ignored.Contains(name)) scores[name] = 0;
            else if (max == 0) scores[name] = Scores.MaxNodeScore;
            else scores[name] = Scores.MaxNodeScore * (max + min - scores[name]) / max;
        }
    }

    private static bool HasAllKeys(NodeInfo node, IEnumerable<SpreadConstraint> constraints) =>
        constraints.All(c => node.Labels.ContainsKey(c.TopologyKey));
}
