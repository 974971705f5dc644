using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Reflection;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Queue;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Runtime.Reconciliation;

/// <summary>A controller as the manager runs it: workers that start once the caches are filled.</summary>
public interface IController
{
    /// <summary>Name of the controller (the <c>controller</c> and <c>name</c> metric labels).</summary>
    string Name { get; }

    /// <summary>Keys waiting in the work queue.</summary>
    int QueueDepth { get; }

    /// <summary>
    /// Waits until the caches are filled, then reconciles until <paramref name="cancellationToken"/> is
    /// cancelled (shutdown, or leadership ended); reconciles in flight are cancelled with it.
    /// </summary>
    Task RunWorkersAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Runs one <see cref="IEntityController{TEntity}"/> the way controller-runtime runs a reconciler:
/// <list type="bullet">
/// <item>its event handlers are registered on the shared informers when its workers start, and removed
/// when they stop (controller-runtime starts a controller's sources in <c>Controller.Start</c>, which a
/// manager calls only on the leader): a standby replica keeps its caches warm but queues nothing;
/// at start every cached entity is queued once, as client-go replays a started informer's objects
/// to a new handler;</item>
/// <item>entity events from the shared cache enqueue the entity's key when its <c>metadata.generation</c>
/// changes (so the operator's own status writes do not trigger it); owned-object events enqueue the key
/// of their controller owner (<see cref="Watch{TChild}(Informer{TChild})"/>), and changes of other watched
/// kinds the key their map function names (<see cref="Watch{TObject}(Informer{TObject}, Func{InformerEvent{TObject}, string})"/>);</item>
/// <item>a <see cref="WorkQueue"/> drained by <see cref="ControllerOptions.MaxConcurrentReconciles"/>
/// workers, never two for the same key; failures retried with per-key exponential backoff;</item>
/// <item>a periodic resync that enqueues every entity.</item>
/// </list>
/// Built by <see cref="Builder.ControllerBuilder{TEntity}"/>.
/// </summary>
/// <typeparam name="TEntity">The entity type.</typeparam>
public sealed partial class ControllerRuntime<TEntity> : IController, IDisposable
    where TEntity : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly InformerCache _cache;
    private readonly Informer<TEntity> _entities;
    private readonly IEntityController<TEntity> _controller;
    private readonly WorkQueue _queue;
    private readonly ControllerOptions _options;
    private readonly ILogger _logger;
    /// <summary>The last state of each deleted entity whose <see cref="IEntityController{TEntity}.DeletedAsync"/> has not run yet, by key (several when a name was deleted, made and deleted again).</summary>
    private readonly ConcurrentDictionary<string, ImmutableList<TEntity>> _tombstones = new(StringComparer.Ordinal);
    private readonly List<Func<IDisposable>> _sources = [];
    private readonly string _kind;
    private readonly string _groupVersion;

    /// <summary>Creates the runtime; declare owned and other watched kinds with the <c>Watch</c> overloads, then run <see cref="RunWorkersAsync"/>.</summary>
    /// <param name="name">Controller name.</param>
    /// <param name="cache">The shared cache; the entity informer must be in it.</param>
    /// <param name="controller">The reconciler.</param>
    /// <param name="queue">The work queue (disposed by the caller).</param>
    /// <param name="options">Concurrency and resync.</param>
    /// <param name="logger">Failures at Warning, scheduling at Debug.</param>
    public ControllerRuntime(string name, InformerCache cache, IEntityController<TEntity> controller, WorkQueue queue, ControllerOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var entity = typeof(TEntity).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new InvalidOperationException($"{typeof(TEntity).Name} has no [KubernetesEntity] attribute.");
        Name = name;
        _cache = cache;
        _entities = cache.Get<TEntity>();
        _controller = controller;
        _queue = queue;
        _options = options;
        _logger = logger;
        _kind = entity.Kind;
        _groupVersion = string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
        _sources.Add(() => _entities.AddHandler(OnEntityEvent));
    }

    /// <summary>Observes every finished reconcile: key, result (<c>success</c>, <c>error</c>, <c>requeue_after</c>) and duration.</summary>
    public event Action<string, string, TimeSpan>? Reconciled;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int QueueDepth => _queue.Depth;

    /// <summary>Disposes the work queue (pending delayed adds are dropped).</summary>
    public void Dispose() => _queue.Dispose();

    /// <summary>Reconciles the controller owner of <typeparamref name="TChild"/> objects when they change (while the workers run).</summary>
    public void Watch<TChild>(Informer<TChild> informer)
        where TChild : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(informer);
        _sources.Add(() => informer.AddHandler(e =>
        {
            if (OwnerKey(e.Object) is { } key)
            {
                _queue.Add(key);
            }
        }));
    }

    /// <summary>
    /// Reconciles the object that <paramref name="map"/> names (a <c>namespace/name</c> key, or null for
    /// none) for each change of a <typeparamref name="TObject"/> (while the workers run): controller-runtime's
    /// <c>handler.EnqueueRequestsFromMapFunc</c>. <paramref name="map"/> runs on the informer's loop and must be quick.
    /// </summary>
    public void Watch<TObject>(Informer<TObject> informer, Func<InformerEvent<TObject>, string?> map)
        where TObject : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(informer);
        ArgumentNullException.ThrowIfNull(map);
        _sources.Add(() => informer.AddHandler(e =>
        {
            if (map(e) is { } key)
            {
                _queue.Add(key);
            }
        }));
    }

    /// <inheritdoc />
    public async Task RunWorkersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _cache.WaitForSyncAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var registrations = _sources.Select(source => source()).ToList();
        try
        {
            LogStarted(_logger, _kind, _entities.Count, _options.MaxConcurrentReconciles);
            var workers = Enumerable.Range(0, _options.MaxConcurrentReconciles)
                .Select(_ => Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None))
                .Append(ResyncAsync(cancellationToken));
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }

    private void OnEntityEvent(InformerEvent<TEntity> e)
    {
        var key = ObjectKey.Of(e.Object);
        switch (e.Type)
        {
            case InformerEventType.Added:
                // A tombstone left by an earlier object of the same name stays: its DeletedAsync still
                // runs, before the new object's reconcile, so a delete and re-create is not lost.
                _queue.Add(key);
                break;
            case InformerEventType.Modified when e.OldObject is { } old && !SpecChanged(old, e.Object):
                break; // Status or metadata only: our own writes land here.
            case InformerEventType.Modified:
                _queue.Add(key);
                break;
            case InformerEventType.Deleted:
                _tombstones.AddOrUpdate(key, static (_, o) => [o], static (_, list, o) => list.Add(o), e.Object);
                _queue.Add(key);
                break;
        }
    }

    private static bool SpecChanged(TEntity old, TEntity current) =>
        old.Metadata.Generation != current.Metadata.Generation
        || old.Metadata.Uid != current.Metadata.Uid
        || (old.Metadata.DeletionTimestamp is null) != (current.Metadata.DeletionTimestamp is null);

    private string? OwnerKey(IKubernetesObject<V1ObjectMeta> child)
    {
        var owner = child.Metadata.OwnerReferences?.FirstOrDefault(o =>
            o.Controller == true && o.Kind == _kind && o.ApiVersion == _groupVersion);
        return owner is null ? null : ObjectKey.Of(child.Metadata.NamespaceProperty, owner.Name);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            string key;
            try
            {
                key = await _queue.TakeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await ProcessAsync(key, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    private async Task ProcessAsync(string key, CancellationToken cancellationToken)
    {
        var (ns, name) = ObjectKey.Split(key);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var entity = _entities.Get(ns, name);
            if (_tombstones.TryGetValue(key, out var deleted))
            {
                foreach (var last in deleted.Where(d => d.Metadata.Uid != entity?.Metadata.Uid))
                {
                    await _controller.DeletedAsync(last, cancellationToken).ConfigureAwait(false);
                    _tombstones.AddOrUpdate(key, static (_, _) => [], static (_, list, done) => list.Remove(done), last);
                }

                if (_tombstones.TryGetValue(key, out var rest) && rest.IsEmpty)
                {
                    _tombstones.TryRemove(new KeyValuePair<string, ImmutableList<TEntity>>(key, rest)); // Unless one more came meanwhile.
                }
            }

            if (entity is null)
            {
                _queue.Forget(key);
                Reconciled?.Invoke(key, "success", Stopwatch.GetElapsedTime(started));
                return;
            }

            if (entity.Metadata.DeletionTimestamp is not null)
            {
                _queue.Forget(key); // Being deleted: the garbage collector removes the owned objects.
                return;
            }

            var result = await _controller.ReconcileAsync(entity, cancellationToken).ConfigureAwait(false);
            _queue.Forget(key);
            if (result.RequeueAfter is { } delay)
            {
                _queue.AddAfter(key, delay);
            }

            Reconciled?.Invoke(key, result.RequeueAfter is null ? "success" : "requeue_after", Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down; the key is dropped with the queue.
        }
#pragma warning disable CA1031 // A failed reconcile is retried, whatever failed; it must not stop the worker.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var delay = _queue.AddRateLimited(key);
            LogFailed(_logger, key, _queue.Failures(key), e.GetType().Name, e.Message, delay.TotalMilliseconds);
            Reconciled?.Invoke(key, "error", Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ResyncPeriod, _options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var entity in _entities.List())
                {
                    _queue.Add(ObjectKey.Of(entity));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Controller for {Kind} started: {Count} objects cached, {Workers} workers")]
    private static partial void LogStarted(ILogger logger, string kind, int count, int workers);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Reconcile of {Key} failed (attempt {Attempt}): {ErrorType}: {ErrorMessage}; retrying in {DelayMs:0} ms")]
    private static partial void LogFailed(ILogger logger, string key, int attempt, string errorType, string errorMessage, double delayMs);
}
