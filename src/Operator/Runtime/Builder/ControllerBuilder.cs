using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Metrics;
using UserApiOperator.Runtime.Queue;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Runtime.Builder;

/// <summary>
/// Declares a controller and what it watches beside it, as controller-runtime's builder
/// (<c>ctrl.NewControllerManagedBy(mgr).For(&amp;X{}).Owns(&amp;Deployment{}).Complete(r)</c>) and KubeOps'
/// <c>AddController</c> do: <see cref="For"/> the reconciled kind, <c>Owns</c> each kind it
/// creates (changes map to the controller owner), <see cref="Watches{TObject}"/> any other kind whose
/// changes matter (a function maps each change to the object to reconcile). Informers go into the shared <see cref="InformerCache"/>,
/// where the reconcile reads them.
/// </summary>
/// <typeparam name="TEntity">The reconciled kind.</typeparam>
/// <param name="cache">The manager's shared cache.</param>
/// <param name="metrics">Receives reconcile and work-queue metrics.</param>
/// <param name="loggers">Runtime loggers.</param>
public sealed class ControllerBuilder<TEntity>(InformerCache cache, OperatorMetrics metrics, ILoggerFactory loggers)
    where TEntity : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly List<Action<ControllerRuntime<TEntity>>> _owned = [];

    /// <summary>Watches <typeparamref name="TEntity"/> (every object in the cache's namespace), trimmed by <paramref name="transform"/>.</summary>
    public ControllerBuilder<TEntity> For(Func<TEntity, TEntity>? transform = null)
    {
        cache.GetOrAdd(labelSelector: null, transform);
        return this;
    }

    /// <summary>Watches <typeparamref name="TChild"/> objects matching <paramref name="labelSelector"/>, trimmed by <paramref name="transform"/>; a change reconciles their controller owner.</summary>
    public ControllerBuilder<TEntity> Owns<TChild>(string? labelSelector = null, Func<TChild, TChild>? transform = null)
        where TChild : class, IKubernetesObject<V1ObjectMeta>
    {
        var informer = cache.GetOrAdd(labelSelector, transform);
        _owned.Add(runtime => runtime.Watch(informer));
        return this;
    }

    /// <summary>
    /// Watches <typeparamref name="TChild"/> objects matching <paramref name="labelSelector"/>, each read
    /// by <paramref name="decode"/> straight from the API server's JSON (for example a
    /// <see cref="SlimObject"/> copy: controller-runtime's metadata-only <c>Owns</c>); a change reconciles
    /// their controller owner.
    /// </summary>
    public ControllerBuilder<TEntity> Owns<TChild>(string? labelSelector, Func<System.Text.Json.JsonElement, TChild> decode)
        where TChild : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(decode);
        var informer = cache.GetOrAdd(labelSelector, transform: null, decode);
        _owned.Add(runtime => runtime.Watch(informer));
        return this;
    }

    /// <summary>
    /// Watches <typeparamref name="TObject"/> objects matching <paramref name="labelSelector"/>, read by
    /// <paramref name="decode"/>, that the reconciled kind neither is nor owns (controller-runtime's
    /// <c>Watches(&amp;corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(f))</c>, with its predicates
    /// folded into <paramref name="map"/>): each change goes to <paramref name="map"/>, which returns the
    /// key (<c>namespace/name</c>) of the <typeparamref name="TEntity"/> to reconcile, or null for none.
    /// </summary>
    public ControllerBuilder<TEntity> Watches<TObject>(string? labelSelector, Func<System.Text.Json.JsonElement, TObject> decode, Func<InformerEvent<TObject>, string?> map)
        where TObject : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(map);
        var informer = cache.GetOrAdd(labelSelector, transform: null, decode);
        _owned.Add(runtime => runtime.Watch(informer, map));
        return this;
    }

    /// <summary>
    /// Indexes the cached <typeparamref name="TObject"/> objects (declared before by <c>Owns</c> or
    /// <see cref="Watches{TObject}"/>) by <paramref name="valueOf"/> under <paramref name="name"/>
    /// (controller-runtime's <c>mgr.GetFieldIndexer().IndexField</c>), so a reconcile finds them with
    /// <see cref="Informer{T}.ByIndex"/> instead of scanning the cache.
    /// </summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="TObject"/> is not watched, or the index exists already.</exception>
    public ControllerBuilder<TEntity> IndexField<TObject>(string name, Func<TObject, string?> valueOf)
        where TObject : class, IKubernetesObject<V1ObjectMeta>
    {
        cache.Get<TObject>().AddIndex(name, valueOf);
        return this;
    }

    /// <summary>Builds the controller named <paramref name="name"/> around <paramref name="controller"/>.</summary>
    /// <param name="name">Controller name (metric labels, logs).</param>
    /// <param name="controller">The reconciler.</param>
    /// <param name="options">Workers and resync period.</param>
    /// <returns>The runtime, to hand to the manager; it owns its work queue (disposed with the host's token).</returns>
    public ControllerRuntime<TEntity> Complete(string name, IEntityController<TEntity> controller, ControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        cache.GetOrAdd<TEntity>();
        var queue = new WorkQueue(ExponentialBackoff.Default(), options.TimeProvider, metrics.ForQueue(name));
        var runtime = new ControllerRuntime<TEntity>(name, cache, controller, queue, options, loggers.CreateLogger<ControllerRuntime<TEntity>>());
        foreach (var watch in _owned)
        {
            watch(runtime);
        }

        metrics.InitializeController(name);
        runtime.Reconciled += (_, result, duration) => metrics.ReconcileCompleted(name, result, duration);
        metrics.TrackQueueDepth(name, () => runtime.QueueDepth);
        return runtime;
    }
}
