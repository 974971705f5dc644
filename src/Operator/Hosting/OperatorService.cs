using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserApiOperator.Controller;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Runtime;

namespace UserApiOperator.Hosting;

/// <summary>
/// The operator as a hosted service: an informer of UserApis (one namespace or all), informers of
/// the Secrets, Deployments, Services and Ingresses labelled <c>app.kubernetes.io/managed-by=userapi-operator</c>,
/// and the <see cref="UserApiController"/> run by a <see cref="ControllerRuntime{TEntity}"/>. Stops
/// when the host stops (SIGTERM, Ctrl-C), letting reconciles in flight finish.
/// </summary>
public sealed class OperatorService : BackgroundService
{
    private readonly WorkQueue _queue;

    /// <summary>Builds the informers and the runtime.</summary>
    /// <param name="client">API access.</param>
    /// <param name="controller">The reconciler.</param>
    /// <param name="options">Namespace, concurrency, resync.</param>
    /// <param name="loggers">Loggers of informers and runtime.</param>
    public OperatorService(IKubernetesClient client, UserApiController controller, OperatorOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
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
            .Owns(new Informer<V1Secret>(client, owned, informerLogger))
            .Owns(new Informer<V1Deployment>(client, owned, informerLogger))
            .Owns(new Informer<V1Service>(client, owned, informerLogger))
            .Owns(new Informer<V1Ingress>(client, owned, informerLogger));
    }

    /// <summary>The controller runtime (for health checks and metrics).</summary>
    public ControllerRuntime<V1Alpha1UserApi> Runtime { get; }

    /// <inheritdoc />
    public override void Dispose()
    {
        _queue.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Runtime.RunAsync(stoppingToken);
}
