using k8s.Models;
using LocalCluster.Objects;

namespace LocalCluster.Scheduler;

/// <summary>
/// A topology spread constraint with its selector resolved (kubernetes
/// <c>pkg/scheduler/framework/plugins/podtopologyspread/common.go</c>, <c>topologySpreadConstraint</c>
/// and <c>filterTopologySpreadConstraints</c>): minDomains 1, nodeAffinityPolicy Honor and
/// nodeTaintsPolicy Ignore when unset; <c>matchLabelKeys</c> adds the Pod's own values of those
/// labels to the selector.
/// </summary>
internal sealed record SpreadConstraint(int MaxSkew, string TopologyKey, SpreadSelector Selector, int MinDomains, bool HonorNodeAffinity, bool HonorNodeTaints)
{
    /// <summary>kube-scheduler's system default constraints (<c>plugin.go</c>, <c>systemDefaultConstraints</c>): hostname maxSkew 3, zone maxSkew 5, both ScheduleAnyway.</summary>
    public static readonly IReadOnlyList<V1TopologySpreadConstraint> SystemDefaults =
    [
        new() { TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway", MaxSkew = 3 },
        new() { TopologyKey = "topology.kubernetes.io/zone", WhenUnsatisfiable = "ScheduleAnyway", MaxSkew = 5 },
    ];

    /// <summary>
    /// The Pod's constraints with <paramref name="action"/> (DoNotSchedule or ScheduleAnyway); when
    /// the Pod has none, the system defaults with the Pod's default selector (the Services and the
    /// controller that select it), or none if that selector is empty.
    /// </summary>
    public static IReadOnlyList<SpreadConstraint> For(V1Pod pod, ClusterSnapshot cluster, string action)
    {
        var own = pod.Spec?.TopologySpreadConstraints;
        if (own is { Count: > 0 })
        {
            return [.. own.Where(c => c.WhenUnsatisfiable == action).Select(c => Resolve(c, SpreadSelector.From(c.LabelSelector, MatchLabelKeys(c, pod))))];
        }
        var defaults = SystemDefaults.Where(c => c.WhenUnsatisfiable == action).ToList();
        if (defaults.Count == 0) return [];
        var selector = SpreadSelector.Default(pod, cluster);
        return selector.IsEmpty ? [] : [.. defaults.Select(c => Resolve(c, selector))];
    }

    /// <summary>Do the node's policies let it count for this constraint (<c>matchNodeInclusionPolicies</c>)?</summary>
    public bool Includes(V1Pod pod, V1Node node) =>
        (!HonorNodeAffinity || NodeSelectors.MatchesRequired(pod, node))
        && (!HonorNodeTaints || Taints.FirstUntolerated(node.Spec?.Taints, pod.Spec?.Tolerations, Taints.DoNotSchedule) is null);

    /// <summary>Pods on the node in <paramref name="ns"/>, not being deleted, that the selector matches (<c>countPodsMatchSelector</c>).</summary>
    public int Count(NodeInfo node, string? ns) =>
        Selector.IsEmpty ? 0 : node.Pods.Count(p => p.Metadata.DeletionTimestamp is null && p.Metadata.NamespaceProperty == ns && Selector.Matches(p.Metadata.Labels));

    private static SpreadConstraint Resolve(V1TopologySpreadConstraint c, SpreadSelector selector) =>
        new(c.MaxSkew, c.TopologyKey, selector, c.MinDomains ?? 1, c.NodeAffinityPolicy != "Ignore", c.NodeTaintsPolicy == "Honor");

    private static Dictionary<string, string> MatchLabelKeys(V1TopologySpreadConstraint c, V1Pod pod)
    {
        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
        var set = new Dictionary<string, string>();
        foreach (var key in c.MatchLabelKeys ?? [])
        {
            if (labels.TryGetValue(key, out var value)) set[key] = value;
        }
        return set;
    }
}

/// <summary>
/// The selector of a spread constraint: a label set and/or a <c>metav1.LabelSelector</c>, all of
/// whose requirements must hold. Empty (no requirement) counts no Pod at all, as
/// <c>countPodsMatchSelector</c> does with <c>selector.Empty()</c>; a null LabelSelector matches nothing.
/// </summary>
internal sealed class SpreadSelector
{
    private readonly Dictionary<string, string> _set;
    private readonly List<V1LabelSelector> _selectors;
    private readonly bool _nothing;

    private SpreadSelector(Dictionary<string, string> set, List<V1LabelSelector> selectors, bool nothing)
    {
        _set = set;
        _selectors = selectors;
        _nothing = nothing;
    }

    /// <summary>True when there is no requirement (then nothing is counted).</summary>
    public bool IsEmpty => !_nothing && _set.Count == 0 && _selectors.All(LabelSelectors.IsEmpty);

    /// <summary>A constraint's own selector plus its matchLabelKeys' values.</summary>
    public static SpreadSelector From(V1LabelSelector? selector, Dictionary<string, string> matchLabels) =>
        selector is null ? new([], [], nothing: true) : new(matchLabels, [selector], nothing: false);

    /// <summary>
    /// <c>helper.DefaultSelector</c>: the selectors of the Services in the Pod's namespace that match
    /// its labels, merged, plus the selector of the controller named by its controller reference.
    /// </summary>
    public static SpreadSelector Default(V1Pod pod, ClusterSnapshot cluster)
    {
        var set = new Dictionary<string, string>();
        foreach (var svc in cluster.Services)
        {
            if (svc.Metadata.NamespaceProperty != pod.Metadata.NamespaceProperty || svc.Spec?.Selector is not { Count: > 0 } selector) continue;
            if (!LabelSelectors.MatchesSet(selector, pod.Metadata.Labels)) continue;
            foreach (var (k, v) in selector) set[k] = v;
        }
        var selectors = new List<V1LabelSelector>();
        if (Pods.ControllerOf(pod.Metadata) is { } owner && cluster.ControllerSelectors.TryGetValue(owner.Uid, out var controller))
        {
            selectors.Add(controller);
        }
        return new(set, selectors, nothing: false);
    }

    /// <summary>Do the labels satisfy every requirement?</summary>
    public bool Matches(IDictionary<string, string>? labels)
    {
        if (_nothing) return false;
        if (_set.Count > 0 && !LabelSelectors.MatchesSet(_set, labels)) return false;
        return _selectors.All(s => LabelSelectors.Matches(s, labels));
    }
}
