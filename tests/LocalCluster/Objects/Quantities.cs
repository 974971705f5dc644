using System.Globalization;
using k8s.Models;

namespace LocalCluster.Objects;

/// <summary>
/// Resource quantities as the Kubernetes controllers read them (apimachinery
/// <c>pkg/api/resource/quantity.go</c>): MilliValue and Value round up
/// to the next integer, as <c>Quantity.MilliValue()</c> and <c>Quantity.Value()</c> do; and the
/// canonical text metrics-server writes (<c>329087452n</c> for CPU, <c>2748180Ki</c> for memory).
/// </summary>
internal static class Quantities
{
    private static readonly (string Suffix, long Factor)[] BinarySuffixes =
    [
        ("Ei", 1L << 60), ("Pi", 1L << 50), ("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10),
    ];

    /// <summary>The quantity in thousandths, rounded up (<c>500m</c> is 500, <c>1</c> is 1000, <c>100n</c> is 1).</summary>
    public static long MilliValue(ResourceQuantity quantity) => RoundUp(quantity.ToDecimal() * 1000m);

    /// <summary>The quantity in units, rounded up (<c>2Gi</c> is 2147483648, <c>500m</c> is 1).</summary>
    public static long Value(ResourceQuantity quantity) => RoundUp(quantity.ToDecimal());

    /// <summary>The named quantity of a resource list in thousandths, or null when the list lacks it.</summary>
    public static long? MilliValue(IDictionary<string, ResourceQuantity>? list, string name) =>
        list is not null && list.TryGetValue(name, out var q) && q is not null ? MilliValue(q) : null;

    /// <summary>The named quantity of a resource list in units, or null when the list lacks it.</summary>
    public static long? Value(IDictionary<string, ResourceQuantity>? list, string name) =>
        list is not null && list.TryGetValue(name, out var q) && q is not null ? Value(q) : null;

    private static readonly (string Suffix, long Factor)[] DecimalSuffixes =
    [
        ("E", 1_000_000_000_000_000_000), ("P", 1_000_000_000_000_000), ("T", 1_000_000_000_000), ("G", 1_000_000_000),
        ("M", 1_000_000), ("k", 1_000), ("", 1),
    ];

    /// <summary>
    /// A quantity of thousandths in its canonical decimal-SI form, as <c>resource.NewMilliQuantity(v,
    /// DecimalSI).String()</c> prints it: the largest SI suffix whose multiple divides the value
    /// exactly (<c>1500m</c>, <c>2</c>, <c>64M</c>, <c>52428800</c>, <c>0</c>).
    /// </summary>
    public static string FormatMilli(long milli)
    {
        if (milli == 0) return "0";
        if (milli % 1000 != 0) return milli.ToString(CultureInfo.InvariantCulture) + "m";
        var units = milli / 1000;
        foreach (var (suffix, factor) in DecimalSuffixes)
        {
            if (units % factor == 0) return (units / factor).ToString(CultureInfo.InvariantCulture) + suffix;
        }
        return units.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>CPU as metrics-server writes it: nanocores with the <c>n</c> suffix (<c>250m</c> is <c>250000000n</c>; zero is <c>0</c>).</summary>
    public static string FormatNanoCores(long millicores) =>
        millicores == 0 ? "0" : (millicores * 1_000_000).ToString(CultureInfo.InvariantCulture) + "n";

    /// <summary>
    /// Bytes in the canonical binary-SI form (the largest of Ki, Mi, Gi, ... that divides the value
    /// exactly, else plain bytes), as a <c>resource.NewQuantity(bytes, BinarySI)</c> prints:
    /// <c>2748180Ki</c>, <c>64Mi</c>, <c>1000</c>.
    /// </summary>
    public static string FormatBinary(long bytes)
    {
        if (bytes != 0)
        {
            foreach (var (suffix, factor) in BinarySuffixes)
            {
                if (bytes % factor == 0) return (bytes / factor).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    private static long RoundUp(decimal value) => (long)decimal.Ceiling(value);
}
