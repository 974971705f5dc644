using System.Globalization;
using k8s.Models;

namespace LocalCluster.Controllers.Disruption;

/// <summary>
/// IntOrString as budgets use it (apimachinery <c>pkg/util/intstr/intstr.go</c>,
/// <c>GetScaledValueFromIntOrPercent</c>): a number, or a percentage <c>"N%"</c> of a total rounded
/// up or down. KubernetesClient keeps only the text, so a value ending in <c>%</c> is the string form
/// and anything else the integer form.
/// </summary>
internal static class IntOrPercent
{
    /// <summary>True for the percentage form.</summary>
    public static bool IsPercent(IntOrString value) => value.Value?.EndsWith('%') == true;

    /// <summary>The value, or its share of <paramref name="total"/> rounded as asked.</summary>
    /// <exception cref="FormatException">Neither a number nor a percentage (the message is intstr's).</exception>
    public static int Scaled(IntOrString value, int total, bool roundUp)
    {
        var text = value.Value ?? "";
        if (!IsPercent(value))
        {
            return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new FormatException($"invalid value for IntOrString: invalid value \"{text}\"");
        }
        if (!int.TryParse(text[..^1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var percent))
        {
            throw new FormatException($"invalid value for IntOrString: invalid value \"{text}\"");
        }
        var share = (double)percent * total / 100;
        return (int)(roundUp ? Math.Ceiling(share) : Math.Floor(share));
    }
}
