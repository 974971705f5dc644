using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace LocalCluster.Metrics;

/// <summary>
/// Resource usage read back from the API server's <c>metrics.k8s.io/v1beta1</c>, as the HPA
/// controller's resource metrics client reads it (kubernetes
/// <c>pkg/controller/podautoscaler/metrics/client.go</c>, <c>resourceMetricsClient.GetResourceMetric</c>:
/// a list of the namespace's <c>PodMetrics</c>, each container's usage, the sample's timestamp and
/// window), so that the autoscaler goes through the aggregation layer and metrics-server as on a
/// cluster. CPU is rounded up to whole millicores (<c>MilliValue</c>); a failed list throws with
/// the API server's answer, which the autoscaler reports as <c>FailedGetResourceMetric</c>.
/// </summary>
internal sealed partial class MetricsApiClient(IKubernetes client) : IResourceMetrics
{
    /// <inheritdoc/>
    public async Task<IReadOnlyList<PodUsage>> GetPodUsageAsync(string? @namespace, CancellationToken ct)
    {
        var list = @namespace is null
            ? await client.CustomObjects.ListClusterCustomObjectAsync<JsonElement>(MetricsApi.Group, MetricsApi.Version, "pods", cancellationToken: ct)
            : await client.CustomObjects.ListNamespacedCustomObjectAsync<JsonElement>(MetricsApi.Group, MetricsApi.Version, @namespace, "pods", cancellationToken: ct);
        var usage = new List<PodUsage>();
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            var metadata = item.GetProperty("metadata");
            var containers = item.GetProperty("containers").EnumerateArray()
                .Select(c => new ContainerUsage(
                    c.GetProperty("name").GetString()!,
                    MilliCpu(c.GetProperty("usage").GetProperty("cpu").GetString()!),
                    Bytes(c.GetProperty("usage").GetProperty("memory").GetString()!)))
                .ToList();
            usage.Add(new PodUsage(metadata.GetProperty("namespace").GetString()!, metadata.GetProperty("name").GetString()!,
                DateTimeOffset.Parse(item.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture),
                GoDuration(item.GetProperty("window").GetString()!), containers));
        }
        return usage;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<NodeUsage>> GetNodeUsageAsync(CancellationToken ct)
    {
        var list = await client.CustomObjects.ListClusterCustomObjectAsync<JsonElement>(MetricsApi.Group, MetricsApi.Version, "nodes", cancellationToken: ct);
        return [.. list.GetProperty("items").EnumerateArray().Select(item => new NodeUsage(
            item.GetProperty("metadata").GetProperty("name").GetString()!,
            DateTimeOffset.Parse(item.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture),
            GoDuration(item.GetProperty("window").GetString()!),
            MilliCpu(item.GetProperty("usage").GetProperty("cpu").GetString()!),
            Bytes(item.GetProperty("usage").GetProperty("memory").GetString()!)))];
    }

    /// <summary>A CPU quantity (<c>12345678n</c>, <c>250m</c>, <c>1</c>) in millicores, rounded up.</summary>
    internal static long MilliCpu(string quantity) => (long)Math.Ceiling(new ResourceQuantity(quantity).ToDecimal() * 1000m);

    /// <summary>A memory quantity (<c>26Mi</c>, <c>1234Ki</c>) in bytes.</summary>
    internal static long Bytes(string quantity) => (long)Math.Ceiling(new ResourceQuantity(quantity).ToDecimal());

    /// <summary>A Go <c>time.Duration</c> string (<c>15s</c>, <c>5.012s</c>, <c>1m0s</c>, <c>500ms</c>).</summary>
    internal static TimeSpan GoDuration(string text)
    {
        var total = TimeSpan.Zero;
        var matches = DurationPart().Matches(text);
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text) throw new FormatException($"not a Go duration: '{text}'");
        foreach (Match m in matches)
        {
            var value = decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var ticksPerUnit = m.Groups[2].Value switch
            {
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                _ => 0.01m,
            };
            total += TimeSpan.FromTicks((long)Math.Round(value * ticksPerUnit));
        }
        return total;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial Regex DurationPart();
}
