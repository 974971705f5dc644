using System.Diagnostics;
using Prometheus;
using UserApiOperator.Runtime.Queue;

namespace UserApiOperator.Runtime.Metrics;

/// <summary>
/// The manager's Prometheus metrics, through prometheus-net, with controller-runtime's and client-go's
/// names so that existing dashboards and alerts work:
/// <list type="bullet">
/// <item><c>controller_runtime_reconcile_total{controller,result}</c> (result <c>success</c>, <c>error</c>, <c>requeue_after</c>),
/// <c>controller_runtime_reconcile_errors_total{controller}</c>, <c>controller_runtime_reconcile_time_seconds{controller}</c>;</item>
/// <item><c>workqueue_depth{name}</c>, <c>workqueue_adds_total{name}</c>, <c>workqueue_retries_total{name}</c>,
/// <c>workqueue_queue_duration_seconds{name}</c>, <c>workqueue_work_duration_seconds{name}</c>;</item>
/// <item><c>rest_client_requests_total{code,method,host}</c> (see <see cref="RestClientMetricsHandler"/>);</item>
/// <item><c>leader_election_master_status{name}</c>: 1 while this replica leads;</item>
/// <item><c>process_resident_memory_bytes</c> and prometheus-net's .NET process metrics.</item>
/// </list>
/// Each instance has its own <see cref="CollectorRegistry"/> (several operator hosts can run in one
/// test process); <c>/metrics</c> serves <see cref="Registry"/>.
/// </summary>
public sealed class OperatorMetrics
{
    /// <summary>Upper bounds of the duration histograms, in seconds (controller-runtime's reconcile buckets, trimmed).</summary>
    public static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly Counter _reconciles;
    private readonly Counter _reconcileErrors;
    private readonly Histogram _reconcileTime;
    private readonly Gauge _queueDepth;
    private readonly Counter _queueAdds;
    private readonly Counter _queueRetries;
    private readonly Histogram _queueDuration;
    private readonly Histogram _workDuration;
    private readonly Counter _requests;
    private readonly Counter _undecodable;
    private readonly Gauge _leader;
    private readonly Gauge _residentMemory;
    private readonly List<Action> _beforeCollect = [];

    /// <summary>Creates the metrics in a new registry, with prometheus-net's .NET and process metrics.</summary>
    public OperatorMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _reconciles = factory.CreateCounter("controller_runtime_reconcile_total", "Total number of reconciliations per controller.", "controller", "result");
        _reconcileErrors = factory.CreateCounter("controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller.", "controller");
        _reconcileTime = factory.CreateHistogram("controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller.",
            new HistogramConfiguration { LabelNames = ["controller"], Buckets = DurationBuckets });
        _queueDepth = factory.CreateGauge("workqueue_depth", "Current depth of workqueue.", "name");
        _queueAdds = factory.CreateCounter("workqueue_adds_total", "Total number of adds handled by workqueue.", "name");
        _queueRetries = factory.CreateCounter("workqueue_retries_total", "Total number of retries handled by workqueue.", "name");
        _queueDuration = factory.CreateHistogram("workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested.",
            new HistogramConfiguration { LabelNames = ["name"], Buckets = DurationBuckets });
        _workDuration = factory.CreateHistogram("workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.",
            new HistogramConfiguration { LabelNames = ["name"], Buckets = DurationBuckets });
        _requests = factory.CreateCounter("rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.", "code", "method", "host");
        _undecodable = factory.CreateCounter("operator_undecodable_objects_total", "Objects skipped by an informer because they cannot be decoded, per kind (counted once per list or watch event).", "kind");
        _leader = factory.CreateGauge("leader_election_master_status", "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.", "name");
        _residentMemory = factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        Registry.AddBeforeCollectCallback(() =>
        {
            using (var process = Process.GetCurrentProcess())
            {
                _residentMemory.Set(process.WorkingSet64);
            }

            lock (_beforeCollect)
            {
                foreach (var update in _beforeCollect)
                {
                    update();
                }
            }
        });
    }

    /// <summary>The registry <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Records one finished reconcile of <paramref name="controller"/>.</summary>
    /// <param name="controller">Controller name label.</param>
    /// <param name="result"><c>success</c>, <c>error</c> or <c>requeue_after</c>.</param>
    /// <param name="duration">How long the reconcile took.</param>
    public void ReconcileCompleted(string controller, string result, TimeSpan duration)
    {
        _reconciles.WithLabels(controller, result).Inc();
        if (result == "error")
        {
            _reconcileErrors.WithLabels(controller).Inc();
        }

        _reconcileTime.WithLabels(controller).Observe(duration.TotalSeconds);
    }

    /// <summary>
    /// Creates the series of controller <paramref name="name"/> and its queue at zero, as controller-runtime
    /// does when a controller starts, so that rates and alerts see them before the first event.
    /// </summary>
    public void InitializeController(string name)
    {
        foreach (var result in new[] { "success", "error", "requeue_after" })
        {
            _reconciles.WithLabels(name, result);
        }

        _reconcileErrors.WithLabels(name);
        _queueAdds.WithLabels(name);
        _queueRetries.WithLabels(name);
    }

    /// <summary>Count of reconciles of <paramref name="controller"/> with <paramref name="result"/> so far.</summary>
    public long ReconcileCount(string controller, string result) => (long)_reconciles.WithLabels(controller, result).Value;

    /// <summary>Records one API server request (see <see cref="RestClientMetricsHandler"/>).</summary>
    /// <param name="code">Status code as text, or <c>&lt;error&gt;</c> when no response came.</param>
    /// <param name="method">HTTP method.</param>
    /// <param name="host">Host (and port) of the API server.</param>
    public void RequestCompleted(string code, string method, string host) => _requests.WithLabels(code, method, host).Inc();

    /// <summary>Counts an object of <paramref name="kind"/> an informer skipped because it cannot be decoded.</summary>
    /// <param name="kind">Kind, for example <c>UserApi</c>.</param>
    public void ObjectUndecodable(string kind) => _undecodable.WithLabels(kind).Inc();

    /// <summary>The workqueue metrics of the queue named <paramref name="name"/>, for <see cref="WorkQueue"/>.</summary>
    public IWorkQueueMetrics ForQueue(string name) => new QueueMetrics(this, name);

    /// <summary>Reports <c>workqueue_depth{name}</c> from <paramref name="depth"/> at each scrape.</summary>
    public void TrackQueueDepth(string name, Func<double> depth)
    {
        var gauge = _queueDepth.WithLabels(name);
        lock (_beforeCollect)
        {
            _beforeCollect.Add(() => gauge.Set(depth()));
        }
    }

    /// <summary>Reports <c>leader_election_master_status{name}</c> from <paramref name="isLeader"/> at each scrape.</summary>
    public void TrackLeader(string name, Func<bool> isLeader)
    {
        var gauge = _leader.WithLabels(name);
        lock (_beforeCollect)
        {
            _beforeCollect.Add(() => gauge.Set(isLeader() ? 1 : 0));
        }
    }

    private sealed class QueueMetrics(OperatorMetrics metrics, string name) : IWorkQueueMetrics
    {
        private readonly Counter.Child _adds = metrics._queueAdds.WithLabels(name);
        private readonly Counter.Child _retries = metrics._queueRetries.WithLabels(name);
        private readonly Histogram.Child _waited = metrics._queueDuration.WithLabels(name);
        private readonly Histogram.Child _worked = metrics._workDuration.WithLabels(name);

        public void Added() => _adds.Inc();

        public void Retried() => _retries.Inc();

        public void Waited(TimeSpan duration) => _waited.Observe(duration.TotalSeconds);

        public void Worked(TimeSpan duration) => _worked.Observe(duration.TotalSeconds);
    }
}
