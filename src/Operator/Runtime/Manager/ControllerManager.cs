using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.LeaderElection;
using UserApiOperator.Runtime.Metrics;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Runtime.Manager;

/// <summary>
/// The manager (controller-runtime's <c>manager.Manager</c>, KubeOps' operator host): runs the shared
/// cache on every replica, and the controllers directly or, with a <see cref="LeaseElector"/>, only
/// while leading. A replica that loses leadership stops reconciling at once and stops the host, so the
/// process exits non-zero and Kubernetes restarts it as a standby (controller-runtime's rule). SIGTERM
/// cancels the host's token: workers finish the reconciles in flight as far as the host's shutdown
/// timeout allows, a held Lease is released, and the process exits 0.
/// </summary>
public sealed partial class ControllerManager : BackgroundService
{
    private readonly InformerCache _cache;
    private readonly IReadOnlyList<IController> _controllers;
    private readonly LeaseElector? _elector;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;

    /// <summary>Creates the manager.</summary>
    /// <param name="cache">The shared cache the controllers declared their kinds in.</param>
    /// <param name="controllers">The controllers to run.</param>
    /// <param name="elector">The leader elector, or null to reconcile without leader election.</param>
    /// <param name="metrics">Reports <c>leader_election_master_status</c>.</param>
    /// <param name="leaseName">Name of the Lease, the metric's <c>name</c> label.</param>
    /// <param name="lifetime">Stopped when leadership is lost, so that the process exits.</param>
    /// <param name="logger">Leadership loss at Error.</param>
    public ControllerManager(InformerCache cache, IEnumerable<IController> controllers, LeaseElector? elector, OperatorMetrics metrics, string leaseName, IHostApplicationLifetime lifetime, ILogger<ControllerManager> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _cache = cache;
        _controllers = controllers.ToList();
        _elector = elector;
        _lifetime = lifetime;
        _logger = logger;
        if (elector is not null)
        {
            metrics.TrackLeader(leaseName, () => elector.IsLeader);
        }
    }

    /// <summary>True once this replica lost leadership; the process then exits with code 1.</summary>
    public bool LeadershipLost { get; private set; }

    /// <summary>True once every informer has filled its cache (<c>/readyz</c>).</summary>
    public bool HasSynced => _cache.HasSynced;

    /// <summary>The shared cache.</summary>
    public InformerCache Cache => _cache;

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var controller in _controllers.OfType<IDisposable>())
        {
            controller.Dispose();
        }

        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var informers = _cache.RunAsync(stoppingToken);
        if (_elector is null)
        {
            await RunControllersAsync(stoppingToken).ConfigureAwait(false);
        }
        else if (await _elector.RunAsync(RunControllersAsync, stoppingToken).ConfigureAwait(false))
        {
            LeadershipLost = true;
            LogExiting(_logger);
            _lifetime.StopApplication();
        }

        await informers.ConfigureAwait(false);
    }

    private Task RunControllersAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_controllers.Select(c => c.RunWorkersAsync(cancellationToken)));

    [LoggerMessage(EventId = 701, Level = LogLevel.Error, Message = "Leadership lost: exiting so that a fresh replica can campaign again")]
    private static partial void LogExiting(ILogger logger);
}
