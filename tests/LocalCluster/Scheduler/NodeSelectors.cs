using System.Globalization;
using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>
/// A Pod's node requirements as kubernetes evaluates them
/// (<c>staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go</c>):
/// <c>GetRequiredNodeAffinity</c> (the nodeSelector map AND the required node affinity, whose terms
/// are ORed), <c>NodeSelectorRequirementsAsSelector</c> (In, NotIn, Exists, DoesNotExist, Gt, Lt on
/// labels), the <c>metadata.name</c> field of <c>matchFields</c>, and the preferred terms' weights.
/// A term with no requirement matches no node; a term that does not parse matches no node either
/// (the scheduler ignores the parse error).
/// </summary>
internal static class NodeSelectors
{
    /// <summary>Does the node satisfy the Pod's nodeSelector and required node affinity?</summary>
    public static bool MatchesRequired(V1Pod pod, V1Node node)
    {
        var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
        foreach (var (key, value) in pod.Spec?.NodeSelector ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value) return false;
        }
        var required = pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution;
        return required is null || required.NodeSelectorTerms?.Any(t => MatchesTerm(t, node)) == true;
    }

    /// <summary>Sum of the weights of the Pod's preferred node affinity terms the node matches (NodeAffinity's score).</summary>
    public static long PreferredWeight(V1Pod pod, V1Node node)
    {
        long sum = 0;
        foreach (var term in pod.Spec?.Affinity?.NodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution ?? [])
        {
            if (term.Weight == 0 || IsEmpty(term.Preference)) continue;
            if (MatchesTerm(term.Preference, node)) sum += term.Weight;
        }
        return sum;
    }

    /// <summary>Does the Pod prefer anything (is NodeAffinity's score of any use)?</summary>
    public static bool HasPreferred(V1Pod pod) =>
        pod.Spec?.Affinity?.NodeAffinity?.PreferredDuringSchedulingIgnoredDuringExecution is { Count: > 0 };

    /// <summary>One node selector term: every label expression and every field expression must hold.</summary>
    public static bool MatchesTerm(V1NodeSelectorTerm? term, V1Node node)
    {
        if (term is null || IsEmpty(term)) return false;
        var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
        foreach (var e in term.MatchExpressions ?? [])
        {
            if (LabelHolds(e, labels) is not true) return false;
        }
        foreach (var e in term.MatchFields ?? [])
        {
            if (FieldHolds(e, node) is not true) return false;
        }
        return true;
    }

    private static bool IsEmpty(V1NodeSelectorTerm term) =>
        (term.MatchExpressions?.Count ?? 0) == 0 && (term.MatchFields?.Count ?? 0) == 0;

    /// <summary>True or false for a valid requirement; null when it does not parse (apimachinery <c>labels.NewRequirement</c>).</summary>
    private static bool? LabelHolds(V1NodeSelectorRequirement e, IDictionary<string, string> labels)
    {
        var values = e.Values ?? [];
        var has = labels.TryGetValue(e.Key, out var actual);
        switch (e.OperatorProperty)
        {
            case "In":
                return values.Count == 0 ? null : has && values.Contains(actual!);
            case "NotIn":
                return values.Count == 0 ? null : !has || !values.Contains(actual!);
            case "Exists":
                return values.Count != 0 ? null : has;
            case "DoesNotExist":
                return values.Count != 0 ? null : !has;
            case "Gt" or "Lt":
                if (values.Count != 1 || !long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound)) return null;
                if (!has || !long.TryParse(actual, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)) return false;
                return e.OperatorProperty == "Gt" ? number > bound : number < bound;
            default:
                return null;
        }
    }

    /// <summary>Field requirements: only <c>metadata.name</c> with In or NotIn and exactly one value (<c>nodeSelectorRequirementsAsFieldSelector</c>).</summary>
    private static bool? FieldHolds(V1NodeSelectorRequirement e, V1Node node)
    {
        if (e.Key != "metadata.name" || e.Values is not { Count: 1 }) return null;
        return e.OperatorProperty switch
        {
            "In" => node.Metadata.Name == e.Values[0],
            "NotIn" => node.Metadata.Name != e.Values[0],
            _ => null,
        };
    }
}
