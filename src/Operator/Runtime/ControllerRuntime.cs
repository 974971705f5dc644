using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Runtime;

/// <summary>
/// Runs one <see cref="IEntityController{TEntity}"/> the way controller-runtime runs a reconciler:
/// <list type="bullet">
/// <item>an informer of the entities and informers of the kinds they own; entity events enqueue the
/// entity's key when its <c>metadata.generation</c> changes (so the operator's own status writes do
/// not trigger it), owned-object events enqueue the key of their controller owner;</item>
/// <item>a <see cref="WorkQueue"/> drained by <see cref="ControllerOptions.MaxConcurrentReconciles"/>
/// workers, never two for the same key; failures retried with exponential backoff;</item>
/// <item>a periodic resync that enqueues every entity.</item>
/// </list>
/// </summary>
/// <typeparam name="TEntity">The entity type.</typeparam>
public sealed partial class ControllerRuntime<TEntity>
    where TEntity : class, IKubernetesObject
{
    private readonly Informer<TEntity> _entities;
    private readonly List<IInformer> _owned = [];
    private readonly IEntityController<TEntity> _controller;
    private readonly WorkQueue _queue;
    private readonly ControllerOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TEntity> _tombstones = new(StringComparer.Ordinal);
    private readonly KubernetesEntityAttribute _entity = EntityMetadata.Of<TEntity>();

    /// <summary>Creates the runtime; add owned kinds with <see cref="Owns{TChild}"/>, then call <see cref="RunAsync"/>.</summary>
    /// <param name="entities">Informer of the entities.</param>
    /// <param name="controller">The reconciler.</param>
    /// <param name="queue">The work queue (disposed by the caller).</param>
    /// <param name="options">Concurrency and resync.</param>
    /// <param name="logger">Failures at Warning, scheduling at Debug.</param>
    public ControllerRuntime(Informer<TEntity> entities, IEntityController<TEntity> controller, WorkQueue queue, ControllerOptions options, ILogger logger)
    {
        _entities = entities;
        _controller = controller;
        _queue = queue;
        _options = options;
        _logger = logger;
        entities.AddHandler(OnEntityEvent);
    }

    /// <summary>Observes every finished reconcile: key, result (<c>success</c>, <c>error</c>, <c>requeue_after</c>) and duration.</summary>
    public event Action<string, string, TimeSpan>? Reconciled;

    /// <summary>True once every informer has filled its cache.</summary>
    public bool HasSynced => _entities.HasSynced && _owned.All(i => i.HasSynced);

    /// <summary>Keys waiting in the work queue.</summary>
    public int QueueDepth => _queue.Depth;

    /// <summary>Watches <typeparamref name="TChild"/> objects through <paramref name="informer"/> and reconciles their controller owner when they change.</summary>
    public ControllerRuntime<TEntity> Owns<TChild>(Informer<TChild> informer)
        where TChild : class, IKubernetesObject
    {
        informer.AddHandler(e =>
        {
            if (OwnerKey(e.Object) is { } key)
            {
                _queue.Add(key);
            }
        });
        _owned.Add(informer);
        return this;
    }

    /// <summary>Runs informers and workers until <paramref name="cancellationToken"/> is cancelled (no leader election).</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(RunInformersAsync(cancellationToken), RunWorkersAsync(cancellationToken));

    /// <summary>
    /// Runs every informer until <paramref name="cancellationToken"/> is cancelled. Informers run on
    /// every replica, leader or not, so a standby has a warm cache and reports ready.
    /// </summary>
    public Task RunInformersAsync(CancellationToken cancellationToken)
    {
        var informers = new List<IInformer> { _entities };
        informers.AddRange(_owned);
        return Task.WhenAll(informers.Select(i => Task.Run(() => i.RunAsync(cancellationToken), CancellationToken.None)));
    }

    /// <summary>
    /// Waits until every informer has filled its cache, then reconciles with
    /// <see cref="ControllerOptions.MaxConcurrentReconciles"/> workers and resyncs periodically until
    /// <paramref name="cancellationToken"/> is cancelled (for example when leadership ends); reconciles
    /// in flight are cancelled with it.
    /// </summary>
    public async Task RunWorkersAsync(CancellationToken cancellationToken)
    {
        var informers = new List<IInformer> { _entities };
        informers.AddRange(_owned);
        try
        {
            await Task.WhenAll(informers.Select(i => i.WaitForSyncAsync(cancellationToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        LogStarted(_logger, _entity.Kind, _entities.Count, _options.MaxConcurrentReconciles);
        var workers = Enumerable.Range(0, _options.MaxConcurrentReconciles)
            .Select(_ => Task.Run(() => WorkAsync(cancellationToken), CancellationToken.None))
            .Append(ResyncAsync(cancellationToken));
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private void OnEntityEvent(InformerEvent<TEntity> e)
    {
        var key = ObjectKey.Of(e.Object);
        switch (e.Type)
        {
            case InformerEventType.Added:
                _tombstones.TryRemove(key, out _);
                _queue.Add(key);
                break;
            case InformerEventType.Modified when e.OldObject is { } old && !SpecChanged(old, e.Object):
                break; // Status or metadata only: our own writes land here.
            case InformerEventType.Modified:
                _queue.Add(key);
                break;
            case InformerEventType.Deleted:
                _tombstones[key] = e.Object;
                _queue.Add(key);
                break;
        }
    }

    private static bool SpecChanged(TEntity old, TEntity current) =>
        old.Metadata.Generation != current.Metadata.Generation
        || old.Metadata.Uid != current.Metadata.Uid
        || (old.Metadata.DeletionTimestamp is null) != (current.Metadata.DeletionTimestamp is null);

    private string? OwnerKey(IKubernetesObject child)
    {
        var owner = child.Metadata.OwnerReferences?.FirstOrDefault(o =>
            o.Controller == true && o.Kind == _entity.Kind && o.ApiVersion == _entity.GroupVersion);
        return owner is null ? null : ObjectKey.Of(child.Metadata.Namespace, owner.Name);
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
            if (entity is null)
            {
                if (_tombstones.TryRemove(key, out var last))
                {
                    await _controller.DeletedAsync(last, cancellationToken).ConfigureAwait(false);
                }

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
