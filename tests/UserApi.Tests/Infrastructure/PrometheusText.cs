using System.Globalization;

namespace UserApiService.Tests.Infrastructure;

/// <summary>Reads sample values out of Prometheus' text exposition format.</summary>
public static class PrometheusText
{
    /// <summary>The value of the one sample line that starts with <paramref name="prefix"/> and has every label given; fails when there is not exactly one.</summary>
    public static double Value(string[] lines, string prefix, params string[] labels) =>
        ValueOrNull(lines, prefix, labels)
        ?? throw new Xunit.Sdk.XunitException($"no {prefix} line with {string.Join(", ", labels)}");

    /// <summary>As <see cref="Value"/>, but null when no line matches.</summary>
    public static double? ValueOrNull(string[] lines, string prefix, params string[] labels)
    {
        var matches = lines.Where(line => line.StartsWith(prefix, StringComparison.Ordinal)
            && labels.All(label => line.Contains(label, StringComparison.Ordinal))).ToList();
        Assert.True(matches.Count <= 1, $"expected at most one {prefix} line with {string.Join(", ", labels)}, found:\n{string.Join('\n', matches)}");
        return matches.Count == 0
            ? null
            : double.Parse(matches[0][(matches[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
