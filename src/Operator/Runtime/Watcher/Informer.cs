using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Reconciliation;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// Keeps a local cache of one kind of object in step with the API server (client-go's informer /
/// reflector, controller-runtime's cache): list in pages, then watch from the list's resource version
/// through KubernetesClient's <c>WatchList*Async</c> enumerators, resuming each new watch from the last
/// version seen (BOOKMARK events included). A watch ends in one of three ways, each handled:
/// <list type="bullet">
/// <item>the server ends the stream (its <c>timeoutSeconds</c>, a proxy): watch again from the last version at once.
/// A stream that ends before its first event does not end the enumeration but throws (see <see cref="RunAsync"/>);</item>
/// <item>an ERROR event: KubernetesClient does not throw it but passes a <see cref="KubernetesException"/>
/// carrying the <see cref="V1Status"/> to the watch's error callback and goes on reading until the server
/// closes the stream (csharp <c>src/KubernetesClient/Watcher.cs</c>, <c>CreateWatchEventEnumerator</c>).
/// Code 410 Expired (the version fell out of the server's history) leads to a fresh list whose differences
/// with the cache are reported as events, so no deletion is missed; other codes are retried with backoff;</item>
/// <item>a thrown failure (dropped connection, <see cref="HttpOperationException"/> on the watch request,
/// 410 included): retried with exponential backoff (<see cref="InformerOptions.MinRetryDelay"/> doubling to
/// <see cref="InformerOptions.MaxRetryDelay"/>), reset by any event and by a watch that stayed up for
/// <see cref="InformerOptions.MaxRetryDelay"/>.</item>
/// </list>
/// A transform (controller-runtime's <c>TransformFunc</c>) trims each object before it is cached, so the
/// cache holds only what readers need. Handlers run on the informer's loop and must be quick (enqueue a
/// key, no I/O).
/// </summary>
/// <typeparam name="T">Kind of object.</typeparam>
public sealed partial class Informer<T> : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ListWatch<T> _source;
    private readonly InformerOptions _options;
    private readonly Func<T, T> _transform;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly List<Action<InformerEvent<T>>> _handlers = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _writeLock = new();
    private string _resourceVersion = "";
    private long _watchCount;
    private long _listCount;
    private long _failureCount;

    /// <summary>Creates an informer; call <see cref="RunAsync"/> to start it.</summary>
    /// <param name="kind">Kind of the cached objects, for logs.</param>
    /// <param name="source">How to list and watch.</param>
    /// <param name="options">Namespace, label selector and timings.</param>
    /// <param name="transform">Trims an object before it is cached (for example strips <c>managedFields</c>); null keeps objects whole.</param>
    /// <param name="logger">Reconnects at Debug, failures at Warning.</param>
    public Informer(string kind, ListWatch<T> source, InformerOptions options, Func<T, T>? transform, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        Kind = kind;
        _source = source;
        _options = options;
        _transform = transform ?? (static o => o);
        _logger = logger;
    }

    /// <inheritdoc />
    public string Kind { get; }

    /// <inheritdoc />
    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>Number of cached objects.</summary>
    public int Count => _cache.Count;

    /// <summary>Resource version of the last list or event seen; where the next watch resumes.</summary>
    public string ResourceVersion => Volatile.Read(ref _resourceVersion);

    /// <summary>Number of watch requests made so far (reconnects included), for tests and diagnostics.</summary>
    public long WatchCount => Interlocked.Read(ref _watchCount);

    /// <summary>Number of list calls made so far (the first one and every relist; pages count once).</summary>
    public long ListCount => Interlocked.Read(ref _listCount);

    /// <summary>Number of failed lists and watches so far (each one retried after a backoff delay).</summary>
    public long FailureCount => Interlocked.Read(ref _failureCount);

    /// <summary>Registers a handler for cache changes. Register before <see cref="RunAsync"/>.</summary>
    public void AddHandler(Action<InformerEvent<T>> handler) => _handlers.Add(handler);

    /// <summary>The cached object <c>namespace/name</c>, or null.</summary>
    public T? Get(string? @namespace, string name) => _cache.GetValueOrDefault(ObjectKey.Of(@namespace, name));

    /// <summary>A snapshot of every cached object.</summary>
    public IReadOnlyCollection<T> List() => _cache.Values.ToList();

    /// <summary>
    /// Puts an object this process has just written (the API server's answer) into the cache without
    /// notifying handlers, unless the cache already holds a newer version. Its watch event, arriving
    /// later with the same resource version, is then a no-op; meanwhile a reconcile reads what it wrote,
    /// not the state before (client-go's mutation cache does the same). An object the cache does not
    /// hold is put in only when it is newer than the last event the watch delivered: otherwise the
    /// watch has already passed this write and the object was deleted after it, and remembering it
    /// would bring back an object that no longer exists (one that the next reconcile would then
    /// believe present and never make again).
    /// </summary>
    public void Remember(T written)
    {
        ArgumentNullException.ThrowIfNull(written);
        var key = ObjectKey.Of(written);
        var trimmed = _transform(written);
        lock (_writeLock)
        {
            if (_cache.TryGetValue(key, out var cached)
                ? !IsNewer(trimmed.Metadata.ResourceVersion, cached.Metadata.ResourceVersion)
                : !IsNewer(trimmed.Metadata.ResourceVersion, Volatile.Read(ref _resourceVersion)))
            {
                return;
            }

            _cache[key] = trimmed;
        }
    }

    /// <summary>Removes an object this process has just deleted from the cache without notifying handlers.</summary>
    public void Forget(string? @namespace, string name) => _cache.TryRemove(ObjectKey.Of(@namespace, name), out _);

    /// <inheritdoc />
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var needList = true;
        long? watchStarted = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Only a watch that was established, and then stayed up a while, may reset the backoff: a
            // list that fails again and again must keep growing the delay (client-go's reflector
            // resets its backoff manager only after a watch ran; tools/cache/reflector.go).
            watchStarted = null;
            try
            {
                if (needList)
                {
                    await RelistAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                }

                watchStarted = _options.TimeProvider.GetTimestamp();
                var error = await WatchOnceAsync(() => failures = 0, cancellationToken).ConfigureAwait(false);
                switch (error)
                {
                    case null:
                        LogWatchEnded(_logger, Kind, ResourceVersion);
                        break;
                    case KubernetesException { Status.Code: (int)HttpStatusCode.Gone } gone:
                        LogExpired(_logger, Kind, ResourceVersion, gone.Status.Message ?? gone.Message);
                        needList = true;
                        break;
                    default:
                        throw new WatchFailedException(error);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
            {
                // KubernetesClient holds a watch's response until the first line arrives
                // (LineSeparatedHttpContent.SerializeToStreamAsync peeks it); a stream the server ends
                // before any event surfaces as this exception (PeekableStreamReader.PeekLineAsync:
                // EndOfStreamException), not as an empty enumeration. It is a normal end: watch again
                // from the same version, no backoff. It is also the costly end: System.Net.Http
                // captures a stack trace with source lines for it (HttpContent.LoadIntoBufferAsync),
                // and thousands of them step the process's memory up by 15 MB or so (bench/operator).
                // kube-apiserver's watch cache rarely ends a watch empty, since a watch that allows
                // bookmarks, as ours do, gets one 2 s before its timeout (cache_watcher.go,
                // nextBookmarkTime).
                LogWatchEnded(_logger, Kind, ResourceVersion);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
            {
                // A watch or list (continue token) refused with 410 Expired: start over with a list.
                LogExpired(_logger, Kind, ResourceVersion, e.Message);
                needList = true;
            }
#pragma warning disable CA1031 // Every other failure is retried: an informer must outlive API server faults.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // A watch that stayed up for a while before it broke starts the backoff afresh.
                if (watchStarted is { } started && _options.TimeProvider.GetElapsedTime(started) >= _options.MaxRetryDelay)
                {
                    failures = 0;
                }

                failures++;
                Interlocked.Increment(ref _failureCount);
                var delay = RetryDelay(failures);
                var cause = e is WatchFailedException w ? w.InnerException! : e;
                LogFailed(_logger, Kind, cause.GetType().Name, cause.Message, delay.TotalMilliseconds);
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
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? continueToken = null;
        string resourceVersion;
        do
        {
            var page = await _source.List(_options.LabelSelector, continueToken, _options.PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                var key = ObjectKey.Of(item);
                seen.Add(key);
                Upsert(key, item);
            }

            continueToken = page.Metadata?.ContinueProperty;
            resourceVersion = page.Metadata?.ResourceVersion ?? "";
        }
        while (!string.IsNullOrEmpty(continueToken));

        foreach (var (key, stale) in _cache.ToList())
        {
            if (!seen.Contains(key) && _cache.TryRemove(key, out _))
            {
                Notify(new InformerEvent<T>(InformerEventType.Deleted, stale, null));
            }
        }

        Volatile.Write(ref _resourceVersion, resourceVersion);
        _synced.TrySetResult();
        LogListed(_logger, Kind, _cache.Count, ResourceVersion);
    }

    /// <summary>One watch request, until the server ends the stream; returns the first error the watch reported, if any.</summary>
    private async Task<Exception?> WatchOnceAsync(Action onEvent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _watchCount);
        var timeout = (int)_options.WatchTimeout.TotalSeconds;
        // Jitter up to 10 % so that many informers do not reconnect in lockstep.
        timeout += Random.Shared.Next(0, Math.Max(1, timeout / 10));
        Exception? error = null;
        // KubernetesClient sends watches without a client-side timeout; a connection that dies silently
        // would hang here. The server ends the stream after timeoutSeconds, so give up a minute later.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeout + 60));
        await foreach (var (type, obj) in _source.Watch(_options.LabelSelector, ResourceVersion, timeout, e => error ??= e, deadline.Token).ConfigureAwait(false))
        {
            if (error is not null)
            {
                break; // After an ERROR event the stream carries nothing more of use.
            }

            onEvent();
            var version = obj?.Metadata?.ResourceVersion;
            switch (type)
            {
                case WatchEventType.Added or WatchEventType.Modified when obj is not null:
                    Upsert(ObjectKey.Of(obj), obj);
                    break;
                case WatchEventType.Deleted when obj is not null:
                    T? last;
                    lock (_writeLock)
                    {
                        // Under the lock of Remember, with the version moved on at once, so that a
                        // write remembered a moment later cannot bring the object back.
                        _cache.TryRemove(ObjectKey.Of(obj), out last);
                        if (!string.IsNullOrEmpty(version))
                        {
                            Volatile.Write(ref _resourceVersion, version);
                        }
                    }

                    if (last is not null)
                    {
                        Notify(new InformerEvent<T>(InformerEventType.Deleted, _transform(obj), last));
                    }

                    break;
            }

            if (!string.IsNullOrEmpty(version))
            {
                Volatile.Write(ref _resourceVersion, version);
            }
        }

        return error;
    }

    private void Upsert(string key, T item)
    {
        T? old;
        lock (_writeLock)
        {
            old = _cache.GetValueOrDefault(key);
            if (old is not null && old.Metadata.ResourceVersion == item.Metadata.ResourceVersion)
            {
                return; // Seen already (a relist, a replayed event, or our own write remembered).
            }

            item = _transform(item);
            _cache[key] = item;
        }

        Notify(new InformerEvent<T>(old is null ? InformerEventType.Added : InformerEventType.Modified, item, old));
    }

    private void Notify(InformerEvent<T> informerEvent)
    {
        foreach (var handler in _handlers)
        {
            handler(informerEvent);
        }
    }

    /// <summary>
    /// Whether <paramref name="candidate"/> is a later resource version than <paramref name="cached"/>.
    /// Resource versions are opaque to clients; etcd-backed servers hand out increasing integers, so
    /// they are compared as such when both parse, and a version that does not parse counts as newer.
    /// </summary>
    private static bool IsNewer(string? candidate, string? cached) =>
        !long.TryParse(candidate, out var a) || !long.TryParse(cached, out var b) || a > b;

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

    /// <summary>A watch that reported an error through its callback rather than by throwing.</summary>
    private sealed class WatchFailedException(Exception inner) : Exception(inner.Message, inner);
}
