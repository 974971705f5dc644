using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Runtime;

/// <summary>
/// Keeps a local cache of one kind of object in step with the API server (client-go's informer /
/// reflector): list, then watch from the list's resource version, resuming each new watch from the
/// last version seen (BOOKMARK events included). A 410 Expired (the version fell out of the server's
/// history) leads to a fresh list, whose differences with the cache are reported as events, so no
/// deletion is missed. Other failures (dropped connections, 5xx) are retried with exponential
/// backoff (<see cref="InformerOptions.MinRetryDelay"/> doubling to <see cref="InformerOptions.MaxRetryDelay"/>),
/// reset by any event and by a watch that stayed up for <see cref="InformerOptions.MaxRetryDelay"/>.
/// Handlers run on the informer's loop and must be quick (enqueue a key, no I/O).
/// </summary>
/// <typeparam name="T">Kind of object.</typeparam>
public sealed partial class Informer<T> : IInformer
    where T : class, IKubernetesObject
{
    private readonly IKubernetesClient _client;
    private readonly InformerOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly List<Action<InformerEvent<T>>> _handlers = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _resourceVersion = "";

    /// <summary>Creates an informer; call <see cref="RunAsync"/> to start it.</summary>
    /// <param name="client">API access.</param>
    /// <param name="options">Namespace, label selector and timings.</param>
    /// <param name="logger">Reconnects at Debug, failures at Warning.</param>
    public Informer(IKubernetesClient client, InformerOptions options, ILogger logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        Kind = EntityMetadata.Of<T>().Kind;
    }

    /// <summary>Kind of the cached objects, for logs.</summary>
    public string Kind { get; }

    /// <inheritdoc />
    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>Number of cached objects.</summary>
    public int Count => _cache.Count;

    /// <summary>Resource version of the last list or event seen; where the next watch resumes.</summary>
    public string ResourceVersion => Volatile.Read(ref _resourceVersion);

    /// <summary>Number of watch requests made so far (reconnects included), for tests and diagnostics.</summary>
    public long WatchCount => Interlocked.Read(ref _watchCount);

    /// <summary>Number of list requests made so far (the first one and every relist).</summary>
    public long ListCount => Interlocked.Read(ref _listCount);

    private long _watchCount;
    private long _listCount;

    /// <summary>Registers a handler for cache changes. Register before <see cref="RunAsync"/>.</summary>
    public void AddHandler(Action<InformerEvent<T>> handler) => _handlers.Add(handler);

    /// <summary>The cached object <c>namespace/name</c>, or null.</summary>
    public T? Get(string? @namespace, string name) => _cache.GetValueOrDefault(ObjectKey.Of(@namespace, name));

    /// <summary>A snapshot of every cached object.</summary>
    public IReadOnlyCollection<T> List() => _cache.Values.ToList();

    /// <inheritdoc />
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var needList = true;
        var watchStarted = _options.TimeProvider.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await RelistAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                }

                watchStarted = _options.TimeProvider.GetTimestamp();
                await WatchOnceAsync(() => failures = 0, cancellationToken).ConfigureAwait(false);
                LogWatchEnded(_logger, Kind, ResourceVersion);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesGoneException e)
            {
                LogExpired(_logger, Kind, ResourceVersion, e.ServerMessage ?? e.Message);
                needList = true;
            }
#pragma warning disable CA1031 // Every other failure is retried: an informer must outlive API server faults.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // A watch that stayed up for a while before it broke starts the backoff afresh.
                if (_options.TimeProvider.GetElapsedTime(watchStarted) >= _options.MaxRetryDelay)
                {
                    failures = 0;
                }

                failures++;
                var delay = RetryDelay(failures);
                LogFailed(_logger, Kind, e.GetType().Name, e.Message, delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RelistAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _listCount);
        var list = await _client.ListAsync<T>(_options.Namespace, _options.LabelSelector, cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.Items ?? [])
        {
            var key = ObjectKey.Of(item);
            seen.Add(key);
            Upsert(key, item);
        }

        foreach (var (key, stale) in _cache.ToList())
        {
            if (!seen.Contains(key) && _cache.TryRemove(key, out _))
            {
                Notify(new InformerEvent<T>(InformerEventType.Deleted, stale, null));
            }
        }

        Volatile.Write(ref _resourceVersion, list.Metadata?.ResourceVersion ?? "");
        _synced.TrySetResult();
        LogListed(_logger, Kind, _cache.Count, ResourceVersion);
    }

    private async Task WatchOnceAsync(Action onEvent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _watchCount);
        var timeout = (int)_options.WatchTimeout.TotalSeconds;
        // Jitter up to 10 % so that many informers do not reconnect in lockstep.
        timeout += Random.Shared.Next(0, Math.Max(1, timeout / 10));
        await foreach (var watchEvent in _client.WatchAsync<T>(
            _options.Namespace, _options.LabelSelector, ResourceVersion, cancellationToken, allowBookmarks: true, timeoutSeconds: timeout).ConfigureAwait(false))
        {
            onEvent();
            var version = watchEvent.Object?.Metadata?.ResourceVersion;
            switch (watchEvent.Type)
            {
                case WatchEventType.Added or WatchEventType.Modified:
                    Upsert(ObjectKey.Of(watchEvent.Object!), watchEvent.Object!);
                    break;
                case WatchEventType.Deleted:
                    if (_cache.TryRemove(ObjectKey.Of(watchEvent.Object!), out var last))
                    {
                        Notify(new InformerEvent<T>(InformerEventType.Deleted, watchEvent.Object ?? last, null));
                    }

                    break;
                case WatchEventType.Bookmark:
                    break;
            }

            if (!string.IsNullOrEmpty(version))
            {
                Volatile.Write(ref _resourceVersion, version);
            }
        }
    }

    private void Upsert(string key, T item)
    {
        var old = _cache.GetValueOrDefault(key);
        if (old is not null && old.Metadata.ResourceVersion == item.Metadata.ResourceVersion)
        {
            return; // Seen already (a relist, or a replayed event).
        }

        _cache[key] = item;
        Notify(new InformerEvent<T>(old is null ? InformerEventType.Added : InformerEventType.Modified, item, old));
    }

    private void Notify(InformerEvent<T> informerEvent)
    {
        foreach (var handler in _handlers)
        {
            handler(informerEvent);
        }
    }

    private TimeSpan RetryDelay(int failures)
    {
        var millis = Math.Min(_options.MinRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20)), _options.MaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(millis * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "Listed {Kind}: {Count} objects at resource version {ResourceVersion}")]
    private static partial void LogListed(ILogger logger, string kind, int count, string resourceVersion);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Watch of {Kind} ended at resource version {ResourceVersion}; watching again")]
    private static partial void LogWatchEnded(ILogger logger, string kind, string resourceVersion);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Watch of {Kind} expired at resource version {ResourceVersion} ({Reason}); listing again")]
    private static partial void LogExpired(ILogger logger, string kind, string resourceVersion, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Watch of {Kind} failed ({ErrorType}: {ErrorMessage}); retrying in {DelayMs:0} ms")]
    private static partial void LogFailed(ILogger logger, string kind, string errorType, string errorMessage, double delayMs);
}
