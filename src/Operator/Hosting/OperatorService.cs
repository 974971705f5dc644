using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserApiOperator.Controller;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Observability;
using UserApiOperator.Runtime;

namespace UserApiOperator.Hosting;

/// <summary>
/// The operator as a hosted service: an informer of UserApis (one namespace or all), metadata-only
/// informers of the Secrets, Deployments, Services and Ingresses labelled <c>app.kubernetes.io/managed-by=userapi-operator</c>,
/// and the <see cref="UserApiController"/> run by a <see cref="ControllerRuntime{TEntity}"/>. Stops
/// when the host stops (SIGTERM, Ctrl-C), letting reconciles in flight finish.
/// </summary>
public sealed partial class OperatorService : BackgroundService
{
    /// <summary>Name of the controller in metrics labels.</summary>
    public const string ControllerName = "userapi";

    private readonly WorkQueue _queue;
    private readonly LeaderElector? _elector;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;

    /// <summary>Builds the informers and the runtime.</summary>
    /// <param name="client">API access.</param>
    /// <param name="controller">The reconciler.</param>
    /// <param name="options">Namespace, concurrency, resync.</param>
    /// <param name="metrics">Receives reconcile results and reports the queue depth and leadership.</param>
    /// <param name="elector">The leader elector with <c>--leader-elect</c>; null otherwise.</param>
    /// <param name="lifetime">Stopped when leadership is lost, so that the process exits.</param>
    /// <param name="loggers">Loggers of informers and runtime.</param>
    public OperatorService(
        IKubernetesClient client,
        UserApiController controller,
        OperatorOptions options,
        OperatorMetrics metrics,
        LeaderElector? elector,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggers);
        _elector = elector;
        _lifetime = lifetime;
        _logger = loggers.CreateLogger<OperatorService>();
        var informerLogger = loggers.CreateLogger("UserApiOperator.Informer");
        var all = new InformerOptions { Namespace = options.Namespace };
        var owned = all with { LabelSelector = UserApiLabels.ManagedSelector };
        _queue = new WorkQueue(ExponentialBackoff.Default(), TimeProvider.System);
        Runtime = new ControllerRuntime<V1Alpha1UserApi>(
                new Informer<V1Alpha1UserApi>(client, all, informerLogger),
                controller,
                _queue,
                options.Controller,
                loggers.CreateLogger<ControllerRuntime<V1Alpha1UserApi>>())
            // Owned kinds only map changes to their owner (the reconcile reads live objects), so their
            // caches keep metadata alone, as controller-runtime's metadata-only watches do.
            .Owns(new Informer<PartialObjectMetadata<V1Secret>>(client, owned, informerLogger))
            .Owns(new Informer<PartialObjectMetadata<V1Deployment>>(client, owned, informerLogger))
            .Owns(new Informer<PartialObjectMetadata<V1Service>>(client, owned, informerLogger))
            .Owns(new Informer<PartialObjectMetadata<V1Ingress>>(client, owned, informerLogger));
        Runtime.Reconciled += (_, result, duration) => metrics.ReconcileCompleted(ControllerName, result, duration);
        metrics.TrackQueueDepth(ControllerName, () => Runtime.QueueDepth);
        if (elector is not null)
        {
            metrics.TrackLeader(options.LeaderElectionId, () => elector.IsLeader);
        }
    }

    /// <summary>True once this replica lost leadership; the process then exits with code 1.</summary>
    public bool LeadershipLost { get; private set; }

    /// <summary>The controller runtime (for health checks and metrics).</summary>
    public ControllerRuntime<V1Alpha1UserApi> Runtime { get; }

    /// <inheritdoc />
    public override void Dispose()
    {
        _queue.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Runs the informers on every replica; runs the workers directly, or with <c>--leader-elect</c>
    /// only while leading. A replica that loses leadership stops reconciling at once and stops the
    /// host with exit code 1, so that Kubernetes restarts it as a standby (controller-runtime's rule).
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var informers = Runtime.RunInformersAsync(stoppingToken);
        if (_elector is null)
        {
            await Runtime.RunWorkersAsync(stoppingToken).ConfigureAwait(false);
        }
        else if (await _elector.RunAsync(Runtime.RunWorkersAsync, stoppingToken).ConfigureAwait(false))
        {
            LeadershipLost = true;
            LogExiting(_logger);
            _lifetime.StopApplication();
        }

        await informers.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 701, Level = LogLevel.Error, Message = "Leadership lost: exiting so that a fresh replica can campaign again")]
    private static partial void LogExiting(ILogger logger);
}
