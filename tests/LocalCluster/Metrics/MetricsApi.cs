using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using KubeApiFake;
using LocalCluster.Objects;

namespace LocalCluster.Metrics;

/// <summary>
/// The <c>metrics.k8s.io/v1beta1</c> API as metrics-server serves it and <c>kubectl top</c> reads it
/// (kubernetes-sigs/metrics-server <c>pkg/api/install.go</c>, <c>pkg/api/pod.go</c>,
/// <c>pkg/api/node.go</c>; kubectl <c>pkg/cmd/top</c>): discovery of the group
/// (<c>/apis/metrics.k8s.io</c>, <c>/apis/metrics.k8s.io/v1beta1</c>: resources <c>nodes</c> and
/// <c>pods</c>, kinds NodeMetrics and PodMetrics, verbs get and list), <c>PodMetricsList</c> for
/// <c>/apis/metrics.k8s.io/v1beta1/namespaces/NS/pods</c> (and <c>/pods</c> for every namespace),
/// <c>PodMetrics</c> for <c>.../pods/NAME</c>, and the same for nodes. Items carry the object's
/// name, namespace and labels, a creationTimestamp of the moment of the answer, the sample's
/// timestamp and window, and usage as metrics-server writes it (CPU in nanocores, memory in the
/// binary-SI form). Only objects that exist and have a sample are listed; a missing one is a 404
/// <c>podmetrics.metrics.k8s.io "NS/NAME" not found</c>. Not yet served by anything: the lead wires
/// <see cref="Handle"/> to the API server's <c>/apis/metrics.k8s.io</c> paths.
/// </summary>
internal static class MetricsApi
{
    /// <summary>The API group.</summary>
    public const string Group = "metrics.k8s.io";

    /// <summary>The served version.</summary>
    public const string Version = "v1beta1";

    /// <summary>group/version.</summary>
    public const string GroupVersion = Group + "/" + Version;

    /// <summary>The group's entry in <c>/apis</c> (an <c>APIGroup</c> without kind and apiVersion, as in an APIGroupList).</summary>
    public static JsonObject ApiGroupEntry() => new()
    {
        ["name"] = Group,
        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = GroupVersion, ["version"] = Version }),
        ["preferredVersion"] = new JsonObject { ["groupVersion"] = GroupVersion, ["version"] = Version },
    };

    /// <summary><c>GET /apis/metrics.k8s.io</c>: the <c>APIGroup</c>.</summary>
    public static JsonObject ApiGroup()
    {
        var group = ApiGroupEntry();
        group.Insert(0, "kind", "APIGroup");
        group.Insert(1, "apiVersion", "v1");
        return group;
    }

    /// <summary><c>GET /apis/metrics.k8s.io/v1beta1</c>: the <c>APIResourceList</c>.</summary>
    public static JsonObject ApiResourceList() => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = GroupVersion,
        ["resources"] = new JsonArray(
            Resource("nodes", namespaced: false, "NodeMetrics"),
            Resource("pods", namespaced: true, "PodMetrics")),
    };

    /// <summary>One Pod's <c>PodMetrics</c>.</summary>
    public static JsonObject PodMetrics(PodUsage usage, V1Pod pod, DateTimeOffset now) => new()
    {
        ["kind"] = "PodMetrics",
        ["apiVersion"] = GroupVersion,
        ["metadata"] = Metadata(pod.Metadata.Name, pod.Metadata.NamespaceProperty, pod.Metadata.Labels, now),
        ["timestamp"] = FormatTime(usage.Timestamp),
        ["window"] = GoDuration(usage.Window),
        ["containers"] = new JsonArray([.. usage.Containers.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["usage"] = Usage(c.CpuMillicores, c.MemoryWorkingSetBytes),
        })]),
    };

    /// <summary>One node's <c>NodeMetrics</c>.</summary>
    public static JsonObject NodeMetrics(NodeUsage usage, V1Node node, DateTimeOffset now) => new()
    {
        ["kind"] = "NodeMetrics",
        ["apiVersion"] = GroupVersion,
        ["metadata"] = Metadata(node.Metadata.Name, null, node.Metadata.Labels, now),
        ["timestamp"] = FormatTime(usage.Timestamp),
        ["window"] = GoDuration(usage.Window),
        ["usage"] = Usage(usage.CpuMillicores, usage.MemoryWorkingSetBytes),
    };

    /// <summary>
    /// Answers a GET of the metrics API: the status code and body for <paramref name="path"/>
    /// (<c>/apis/metrics.k8s.io[/v1beta1[/nodes[/NAME]|[/namespaces/NS]/pods[/NAME]]]</c>) with an
    /// optional label selector, from the samples of <paramref name="source"/> and the cluster's
    /// Pods and Nodes; null when the path is not the metrics API's.
    /// </summary>
    public static async Task<(int Status, JsonObject Body)?> Handle(string path, string? labelSelector, IResourceMetrics source,
        IReadOnlyList<V1Pod> pods, IReadOnlyList<V1Node> nodes, DateTimeOffset now, CancellationToken ct)
    {
        var parts = path.Trim('/').Split('/');
        if (parts.Length < 2 || parts[0] != "apis" || parts[1] != Group) return null;
        if (parts.Length == 2) return (200, ApiGroup());
        if (parts[2] != Version) return null;
        if (parts.Length == 3) return (200, ApiResourceList());
        LabelSelector selector;
        try
        {
            selector = LabelSelector.Parse(labelSelector);
        }
        catch (FormatException e)
        {
            return (400, Failure(400, "BadRequest", $"unable to parse requirement: {e.Message}", null));
        }
        var rest = parts[3..];
        switch (rest)
        {
            case ["nodes"]:
            {
                var samples = (await source.GetNodeUsageAsync(ct)).ToDictionary(n => n.Name, StringComparer.Ordinal);
                var items = nodes.Where(n => selector.Matches(Labels(n.Metadata.Labels)) && samples.ContainsKey(n.Metadata.Name))
                    .OrderBy(n => n.Metadata.Name, StringComparer.Ordinal)
                    .Select(n => (JsonNode)Item(NodeMetrics(samples[n.Metadata.Name], n, now)));
                return (200, List("NodeMetricsList", items));
            }
            case ["nodes", var name]:
            {
                var node = nodes.FirstOrDefault(n => n.Metadata.Name == name);
                var sample = (await source.GetNodeUsageAsync(ct)).FirstOrDefault(n => n.Name == name);
                return node is null || sample is null
                    ? (404, Failure(404, "NotFound", $"nodemetrics.{Group} \"{name}\" not found", new JsonObject { ["name"] = name, ["group"] = Group, ["kind"] = "nodemetrics" }))
                    : (200, NodeMetrics(sample, node, now));
            }
            case ["pods"]:
                return (200, await PodListAsync(null, selector, source, pods, now, ct));
            case ["namespaces", var ns, "pods"]:
                return (200, await PodListAsync(ns, selector, source, pods, now, ct));
            case ["namespaces", var ns, "pods", var name]:
            {
                var pod = pods.FirstOrDefault(p => p.Metadata.NamespaceProperty == ns && p.Metadata.Name == name);
                var sample = (await source.GetPodUsageAsync(ns, ct)).FirstOrDefault(s => s.Name == name);
                return pod is null || sample is null
                    ? (404, Failure(404, "NotFound", $"podmetrics.{Group} \"{ns}/{name}\" not found", new JsonObject { ["name"] = $"{ns}/{name}", ["group"] = Group, ["kind"] = "podmetrics" }))
                    : (200, PodMetrics(sample, pod, now));
            }
            default:
                return (404, Failure(404, "NotFound", "the server could not find the requested resource", new JsonObject()));
        }
    }

    /// <summary>A Go <c>time.Duration</c> as its <c>String()</c> prints it (<c>15s</c>, <c>20.064s</c>, <c>1m0s</c>, <c>500ms</c>), the JSON form of <c>metav1.Duration</c>.</summary>
    public static string GoDuration(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        if (ticks == 0) return "0s";
        var sign = ticks < 0 ? "-" : "";
        ticks = Math.Abs(ticks);
        if (ticks < TimeSpan.TicksPerSecond)
        {
            var nanos = ticks * 100;
            return nanos < 1000 ? $"{sign}{nanos}ns"
                : nanos < 1_000_000 ? $"{sign}{Fraction(nanos, 1000)}µs"
                : $"{sign}{Fraction(nanos, 1_000_000)}ms";
        }
        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks / TimeSpan.TicksPerMinute % 60;
        var seconds = Fraction(ticks % TimeSpan.TicksPerMinute, TimeSpan.TicksPerSecond);
        return hours > 0 ? $"{sign}{hours}h{minutes}m{seconds}s" : minutes > 0 ? $"{sign}{minutes}m{seconds}s" : $"{sign}{seconds}s";
    }

    private static async Task<JsonObject> PodListAsync(string? ns, LabelSelector selector, IResourceMetrics source, IReadOnlyList<V1Pod> pods, DateTimeOffset now, CancellationToken ct)
    {
        var samples = (await source.GetPodUsageAsync(ns, ct)).ToDictionary(s => (s.Namespace, s.Name));
        var items = pods
            .Where(p => (ns is null || p.Metadata.NamespaceProperty == ns) && selector.Matches(Labels(p.Metadata.Labels)) && samples.ContainsKey((p.Metadata.NamespaceProperty, p.Metadata.Name)))
            .OrderBy(p => p.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .Select(p => (JsonNode)Item(PodMetrics(samples[(p.Metadata.NamespaceProperty, p.Metadata.Name)], p, now)));
        return List("PodMetricsList", items);
    }

    /// <summary>A list item: the object without kind and apiVersion, as typed lists carry them.</summary>
    private static JsonObject Item(JsonObject obj)
    {
        obj.Remove("kind");
        obj.Remove("apiVersion");
        return obj;
    }

    private static JsonObject List(string kind, IEnumerable<JsonNode> items) => new()
    {
        ["kind"] = kind,
        ["apiVersion"] = GroupVersion,
        ["metadata"] = new JsonObject(),
        ["items"] = new JsonArray([.. items]),
    };

    private static JsonObject Metadata(string name, string? ns, IDictionary<string, string>? labels, DateTimeOffset now)
    {
        var metadata = new JsonObject { ["name"] = name };
        if (ns is not null) metadata["namespace"] = ns;
        metadata["creationTimestamp"] = FormatTime(now);
        if (labels is { Count: > 0 }) metadata["labels"] = new JsonObject([.. labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]);
        return metadata;
    }

    private static JsonObject Usage(long cpuMillicores, long memoryBytes) => new()
    {
        ["cpu"] = Quantities.FormatNanoCores(cpuMillicores),
        ["memory"] = Quantities.FormatBinary(memoryBytes),
    };

    private static JsonObject Resource(string name, bool namespaced, string kind) => new()
    {
        ["name"] = name,
        ["singularName"] = "",
        ["namespaced"] = namespaced,
        ["kind"] = kind,
        ["verbs"] = new JsonArray("get", "list"),
    };

    private static JsonObject Failure(int code, string reason, string message, JsonObject? details)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure", ["message"] = message, ["reason"] = reason,
        };
        if (details is not null) status["details"] = details;
        status["code"] = code;
        return status;
    }

    /// <summary>A <c>metav1.Time</c>: RFC 3339 in UTC, whole seconds.</summary>
    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static Dictionary<string, string> Labels(IDictionary<string, string>? labels) => new(labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);

    private static string Fraction(long value, long unit)
    {
        var whole = value / unit;
        var rest = value % unit;
        if (rest == 0) return whole.ToString(CultureInfo.InvariantCulture);
        var digits = (int)Math.Log10(unit);
        return $"{whole.ToString(CultureInfo.InvariantCulture)}.{rest.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0')}";
    }
}
