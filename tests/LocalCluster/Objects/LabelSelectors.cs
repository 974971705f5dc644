using k8s.Models;

namespace LocalCluster.Objects;

/// <summary>
/// <c>metav1.LabelSelector</c> matching as apimachinery's <c>LabelSelectorAsSelector</c> builds it
/// (<c>pkg/apis/meta/v1/helpers.go</c>): a null selector selects nothing, an empty one everything;
/// <c>matchLabels</c> and every <c>matchExpressions</c> requirement must hold (In, NotIn, Exists,
/// DoesNotExist; NotIn and DoesNotExist also hold when the label is absent).
/// </summary>
internal static class LabelSelectors
{
    /// <summary>True when <paramref name="selector"/> selects an object with <paramref name="labels"/>.</summary>
    /// <exception cref="FormatException">An expression has an unknown operator, or In/NotIn without values.</exception>
    public static bool Matches(V1LabelSelector? selector, IDictionary<string, string>? labels)
    {
        if (selector is null) return false;
        labels ??= new Dictionary<string, string>();
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value) return false;
        }
        foreach (var expression in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(expression.Key, out var actual);
            var values = expression.Values ?? [];
            var holds = expression.OperatorProperty switch
            {
                "In" when values.Count > 0 => has && values.Contains(actual!),
                "NotIn" when values.Count > 0 => !has || !values.Contains(actual!),
                "Exists" => has,
                "DoesNotExist" => !has,
                var op => throw new FormatException($"\"{op}\" is not a valid label selector operator (or In/NotIn without values)"),
            };
            if (!holds) return false;
        }
        return true;
    }

    /// <summary>True for a selector with no requirement at all (it selects everything); false for null (which selects nothing).</summary>
    public static bool IsEmpty(V1LabelSelector? selector) =>
        selector is not null && (selector.MatchLabels?.Count ?? 0) == 0 && (selector.MatchExpressions?.Count ?? 0) == 0;

    /// <summary>True when every key of <paramref name="set"/> has its value in <paramref name="labels"/> (<c>labels.SelectorFromSet</c>).</summary>
    public static bool MatchesSet(IDictionary<string, string>? set, IDictionary<string, string>? labels) =>
        set is not null && set.All(kv => labels is not null && labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
