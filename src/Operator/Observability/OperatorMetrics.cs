using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using UserApiOperator.Kubernetes.Client;

namespace UserApiOperator.Observability;

/// <summary>
/// The operator's metrics, exposed in the Prometheus text exposition format 0.0.4 (no client library
/// for Prometheus restores from the package registry copy here). Names follow controller-runtime's:
/// <list type="bullet">
/// <item><c>controller_runtime_reconcile_total{controller,result}</c>: counter; result <c>success</c>, <c>error</c>, <c>requeue_after</c>;</item>
/// <item><c>controller_runtime_reconcile_time_seconds{controller}</c>: histogram of reconcile durations;</item>
/// <item><c>workqueue_depth{name}</c>: gauge of queued keys;</item>
/// <item><c>rest_client_requests_total{code,method}</c>: counter of API server requests; code <c>&lt;error&gt;</c> when no response came;</item>
/// <item><c>leader_election_master_status{name}</c>: gauge, 1 while this replica leads;</item>
/// <item><c>process_resident_memory_bytes</c>, <c>process_cpu_seconds_total</c>: the process.</item>
/// </list>
/// Thread-safe; recording is lock-free except for the histogram.
/// </summary>
public sealed class OperatorMetrics : IKubernetesRequestObserver
{
    /// <summary>Upper bounds of the reconcile-time histogram buckets, in seconds (a subset of controller-runtime's).</summary>
    public static readonly double[] ReconcileBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly ConcurrentDictionary<(string Controller, string Result), long> _reconciles = new();
    private readonly ConcurrentDictionary<(string Code, string Method), long> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram> _reconcileTimes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<double>> _queueDepths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<bool>> _leaders = new(StringComparer.Ordinal);

    /// <summary>Records one finished reconcile.</summary>
    public void ReconcileCompleted(string controller, string result, TimeSpan duration)
    {
        _reconciles.AddOrUpdate((controller, result), 1, static (_, n) => n + 1);
        _reconcileTimes.GetOrAdd(controller, static _ => new Histogram(ReconcileBuckets)).Observe(duration.TotalSeconds);
    }

    /// <inheritdoc />
    public void OnRequestCompleted(KubernetesRequestInfo request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _requests.AddOrUpdate((request.CodeLabel, request.Method), 1, static (_, n) => n + 1);
    }

    /// <summary>Reports <c>workqueue_depth{name}</c> from <paramref name="depth"/> at each scrape.</summary>
    public void TrackQueueDepth(string name, Func<double> depth) => _queueDepths[name] = depth;

    /// <summary>Reports <c>leader_election_master_status{name}</c> from <paramref name="isLeader"/> at each scrape.</summary>
    public void TrackLeader(string name, Func<bool> isLeader) => _leaders[name] = isLeader;

    /// <summary>Count of reconciles of <paramref name="controller"/> with <paramref name="result"/> so far.</summary>
    public long ReconcileCount(string controller, string result) => _reconciles.GetValueOrDefault((controller, result));

    /// <summary>Writes every metric in the Prometheus text format (<c>text/plain; version=0.0.4</c>).</summary>
    public string Render()
    {
        var text = new StringBuilder();
        Family(text, "controller_runtime_reconcile_total", "counter", "Total number of reconciliations per controller.",
            _reconciles.OrderBy(p => p.Key).Select(p => ($"controller=\"{Escape(p.Key.Controller)}\",result=\"{Escape(p.Key.Result)}\"", (double)p.Value)));

        text.Append("# HELP controller_runtime_reconcile_time_seconds Length of time per reconciliation per controller.\n");
        text.Append("# TYPE controller_runtime_reconcile_time_seconds histogram\n");
        foreach (var (controller, histogram) in _reconcileTimes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            histogram.Write(text, "controller_runtime_reconcile_time_seconds", $"controller=\"{Escape(controller)}\"");
        }

        Family(text, "workqueue_depth", "gauge", "Current depth of workqueue.",
            _queueDepths.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => ($"name=\"{Escape(p.Key)}\"", p.Value())));
        Family(text, "rest_client_requests_total", "counter", "Number of HTTP requests, partitioned by status code and method.",
            _requests.OrderBy(p => p.Key).Select(p => ($"code=\"{Escape(p.Key.Code)}\",method=\"{Escape(p.Key.Method)}\"", (double)p.Value)));
        Family(text, "leader_election_master_status", "gauge", "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.",
            _leaders.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => ($"name=\"{Escape(p.Key)}\"", p.Value() ? 1.0 : 0.0)));

        using var process = Process.GetCurrentProcess();
        Family(text, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [("", process.WorkingSet64)]);
        Family(text, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", [("", process.TotalProcessorTime.TotalSeconds)]);
        return text.ToString();
    }

    private static void Family(StringBuilder text, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            Sample(text, name, labels, value);
        }
    }

    private static void Sample(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString(CultureInfo.InvariantCulture); // shortest round-trip form

    /// <summary>Escapes a label value: backslash, double quote and line feed (exposition format rules).</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length];
        private readonly object _lock = new();
        private long _count;
        private double _sum;

        public void Observe(double value)
        {
            lock (_lock)
            {
                for (var i = 0; i < bounds.Length; i++)
                {
                    if (value <= bounds[i])
                    {
                        _counts[i]++;
                    }
                }

                _count++;
                _sum += value;
            }
        }

        public void Write(StringBuilder text, string name, string labels)
        {
            lock (_lock)
            {
                for (var i = 0; i < bounds.Length; i++)
                {
                    Sample(text, name + "_bucket", $"{labels},le=\"{Format(bounds[i])}\"", _counts[i]);
                }

                Sample(text, name + "_bucket", $"{labels},le=\"+Inf\"", _count);
                Sample(text, name + "_sum", labels, _sum);
                Sample(text, name + "_count", labels, _count);
            }
        }
    }
}
