using System.Globalization;
using System.Text.RegularExpressions;

namespace UserApiOperator.Hosting;

/// <summary>Parses durations the way Kubernetes tools write them (Go's <c>time.ParseDuration</c>): <c>500ms</c>, <c>30s</c>, <c>10m</c>, <c>1h30m</c>.</summary>
public static partial class Duration
{
    /// <summary>Parses <paramref name="text"/>; false when it is not a positive duration of h, m, s and ms parts.</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Pattern().Match(text);
        if (!match.Success || text.Length == 0)
        {
            return false;
        }

        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value.TrimStart("0123456789.".ToCharArray());
            var value = double.Parse(part.Value[..^unit.Length], CultureInfo.InvariantCulture);
            duration += unit switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                _ => TimeSpan.FromMilliseconds(value),
            };
        }

        return duration > TimeSpan.Zero;
    }

    /// <summary>Writes <paramref name="duration"/> in the same notation (<c>10m0s</c> becomes <c>10m</c>).</summary>
    public static string Format(TimeSpan duration)
    {
        var parts = new List<string>();
        if (duration.Hours + (duration.Days * 24) > 0)
        {
            parts.Add($"{duration.Hours + (duration.Days * 24)}h");
        }

        if (duration.Minutes > 0)
        {
            parts.Add($"{duration.Minutes}m");
        }

        if (duration.Seconds > 0)
        {
            parts.Add($"{duration.Seconds}s");
        }

        if (duration.Milliseconds > 0)
        {
            parts.Add($"{duration.Milliseconds}ms");
        }

        return parts.Count == 0 ? "0s" : string.Concat(parts);
    }

    [GeneratedRegex(@"^(?<part>[0-9]+(\.[0-9]+)?(ms|h|m|s))+$")]
    private static partial Regex Pattern();
}
