using System.Collections.Concurrent;
using System.Collections.Immutable;
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
    private readonly ConcurrentDictionary<string, Written> _written = new(StringComparer.Ordinal);
    private ImmutableArray<Action<InformerEvent<T>>> _handlers = [];
    private readonly Dictionary<string, FieldIndex> _indexes = new(StringComparer.Ordinal);
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

    /// <summary>
    /// Registers a handler for cache changes, at any time (client-go's <c>AddEventHandler</c> on a
    /// shared informer): a handler added after the first list gets every cached object at once as an
    /// <see cref="InformerEventType.Added"/> event, then the changes that follow; one added before gets
    /// them from the first list. Handlers see only what the watch delivered, never an object this
    /// process wrote and <see cref="Remember"/>ed, so each event's old object is the one they saw last.
    /// </summary>
    /// <returns>Disposing it removes the handler; it gets no events after that returns.</returns>
    public IDisposable AddHandler(Action<InformerEvent<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_writeLock)
        {
            ImmutableInterlocked.Update(ref _handlers, static (list, h) => list.Add(h), handler);
            foreach (var item in _cache.Values)
            {
                handler(new InformerEvent<T>(InformerEventType.Added, item, null));
            }
        }

        return new Registration(() => ImmutableInterlocked.Update(ref _handlers, static (list, h) => list.Remove(h), handler));
    }

    /// <summary>
    /// The object <c>namespace/name</c> as this process last knows it, or null: the watched object, or
    /// the answer to this process's own later write of it (<see cref="Remember"/>); null once this
    /// process deleted it (<see cref="Forget"/>) until the watch shows it made again.
    /// </summary>
    public T? Get(string? @namespace, string name)
    {
        var key = ObjectKey.Of(@namespace, name);
        var watched = _cache.GetValueOrDefault(key);
        return _written.TryGetValue(key, out var written) ? Overlay(watched, written) : watched;
    }

    /// <summary>A snapshot of every object, as <see cref="Get"/> sees each.</summary>
    public IReadOnlyCollection<T> List()
    {
        if (_written.IsEmpty)
        {
            return _cache.Values.ToList();
        }

        var result = new List<T>(_cache.Count);
        foreach (var (key, watched) in _cache)
        {
            if (_written.TryGetValue(key, out var written))
            {
                if (Overlay(watched, written) is { } seen)
                {
                    result.Add(seen);
                }
            }
            else
            {
                result.Add(watched);
            }
        }

        foreach (var (key, written) in _written)
        {
            if (written.Object is { } created && !_cache.ContainsKey(key))
            {
                result.Add(created);
            }
        }

        return result;
    }

    /// <summary>
    /// Adds an index over the watched objects (client-go's <c>Indexer</c>, controller-runtime's
    /// <c>FieldIndexer.IndexField</c>): <paramref name="valueOf"/> gives each object's value, or null
    /// to leave it out, and <see cref="ByIndex"/> finds the objects of one value without a scan.
    /// It may be added before or after the first list; objects already cached are indexed at once.
    /// </summary>
    /// <param name="name">The index's name, unique per informer.</param>
    /// <param name="valueOf">A pure function of the cached (transformed) object; it runs under the cache's lock, so it must be quick.</param>
    /// <exception cref="InvalidOperationException">An index named <paramref name="name"/> exists already.</exception>
    public void AddIndex(string name, Func<T, string?> valueOf)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(valueOf);
        lock (_writeLock)
        {
            var index = new FieldIndex(valueOf);
            if (!_indexes.TryAdd(name, index))
            {
                throw new InvalidOperationException($"The informer of {Kind} has an index named {name} already.");
            }

            foreach (var (key, item) in _cache)
            {
                index.Update(key, null, item);
            }
        }
    }

    /// <summary>
    /// The watched objects whose value in the index <paramref name="name"/> is <paramref name="value"/>,
    /// in no particular order; empty when none. An object this process wrote or deleted shows as
    /// <see cref="Get"/> shows it, indexed by its watched version.
    /// </summary>
    /// <exception cref="InvalidOperationException">No index named <paramref name="name"/> (see <see cref="AddIndex"/>).</exception>
    public IReadOnlyList<T> ByIndex(string name, string value)
    {
        lock (_writeLock)
        {
            if (!_indexes.TryGetValue(name, out var index))
            {
                throw new InvalidOperationException($"The informer of {Kind} has no index named {name}.");
            }

            var keys = index.Keys(value);
            if (keys is null)
            {
                return [];
            }

            var result = new List<T>(keys.Count);
            foreach (var key in keys)
            {
                var watched = _cache.GetValueOrDefault(key);
                if ((_written.TryGetValue(key, out var written) ? Overlay(watched, written) : watched) is { } seen)
                {
                    result.Add(seen);
                }
            }

            return result;
        }
    }

    /// <summary>
    /// Records an object this process has just written (the API server's answer), so that
    /// <see cref="Get"/> and <see cref="List"/> show it until the watch delivers that version or a
    /// newer one; a reconcile then reads what it wrote, not the state before (client-go's
    /// <c>MutationCache</c> keeps such writes beside the informer's store in the same way). Handlers
    /// are not notified, and the watched store is left alone: events compare each new version with the
    /// one handlers saw last, so a spec change that lands while this process writes the status is
    /// still seen as a change of generation. A write older than what is known is ignored: older than
    /// the watched object, or, for an object not watched yet, older than the last event the watch
    /// delivered (the object was deleted after that write, and remembering it would bring it back).
    /// </summary>
    public void Remember(T written)
    {
        ArgumentNullException.ThrowIfNull(written);
        var key = ObjectKey.Of(written);
        var trimmed = _transform(written);
        var version = trimmed.Metadata.ResourceVersion;
        lock (_writeLock)
        {
            var known = _cache.TryGetValue(key, out var watched) ? watched.Metadata.ResourceVersion : Volatile.Read(ref _resourceVersion);
            if (!IsNewer(version, known)
                || (_written.TryGetValue(key, out var earlier) && !IsNewer(version, earlier.ResourceVersion)))
            {
                return;
            }

            _written[key] = new Written(trimmed, version);
        }
    }

    /// <summary>
    /// Records that this process has just deleted <c>namespace/name</c>: <see cref="Get"/> answers
    /// null until the watch delivers the deletion, or a version newer than the one deleted (made again).
    /// </summary>
    public void Forget(string? @namespace, string name)
    {
        var key = ObjectKey.Of(@namespace, name);
        lock (_writeLock)
        {
            if (_cache.TryGetValue(key, out var watched))
            {
                _written[key] = new Written(null, watched.Metadata.ResourceVersion);
            }
            else
            {
                _written.TryRemove(key, out _);
            }
        }
    }

    /// <inheritdoc />
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <inheritdoc />
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Only a watch that was established, and then stayed up a while, may reset the backoff: a
            // list that fails again and again must keep growing the delay (client-go's reflector
            // resets its backoff manager only after a watch ran; tools/cache/reflector.go).
            long? watchStarted = null;
            var watch = new WatchProgress();
            try
            {
                if (needList)
                {
                    await RelistAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                }

                watchStarted = _options.TimeProvider.GetTimestamp();
                var error = await WatchOnceAsync(watch, cancellationToken).ConfigureAwait(false);
                if (watch.Events > 0)
                {
                    failures = 0;
                }

                switch (error)
                {
                    case null:
                        EndedWithoutEvents(watch, watchStarted.Value);
                        LogWatchEnded(_logger, Kind, ResourceVersion);
                        break;
                    case KubernetesException { Status.Code: (int)HttpStatusCode.Gone } gone:
                        LogExpired(_logger, Kind, ResourceVersion, gone.Status.Message ?? gone.Message);
                        needList = true;
                        EndedWithoutEvents(watch, watchStarted.Value);
                        break;
                    default:
                        throw new WatchFailedException(error);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException && watchStarted is { } started && !IsVeryShort(started))
            {
                // KubernetesClient holds a watch's response until the first line arrives
                // (LineSeparatedHttpContent.SerializeToStreamAsync peeks it); a stream the server ends
                // before any event surfaces as this exception (PeekableStreamReader.PeekLineAsync:
                // EndOfStreamException), not as an empty enumeration. After a watch that lasted a while
                // it is a normal end: watch again from the same version, no backoff. It is also the
                // costly end: System.Net.Http captures a stack trace with source lines for it
                // (HttpContent.LoadIntoBufferAsync), and thousands of them step the process's memory up
                // by 15 MB or so (bench/operator). kube-apiserver's watch cache rarely ends a watch
                // empty, since a watch that allows bookmarks, as ours do, gets one 2 s before its
                // timeout (cache_watcher.go, nextBookmarkTime).
                LogWatchEnded(_logger, Kind, ResourceVersion);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone && watchStarted is { } started && !IsVeryShort(started))
            {
                // The watch request itself refused with 410 Expired: start over with a list.
                LogExpired(_logger, Kind, ResourceVersion, e.Message);
                needList = true;
            }
#pragma warning disable CA1031 // Every other failure is retried: an informer must outlive API server faults.
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (e is HttpOperationException { Response.StatusCode: HttpStatusCode.Gone })
                {
                    needList = true; // A 410 at once after a list: list again, after the backoff.
                }

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

    private bool IsVeryShort(long started) => _options.TimeProvider.GetElapsedTime(started) < InformerOptions.VeryShortWatch;

    private void EndedWithoutEvents(WatchProgress watch, long started)
    {
        if (watch.Events == 0 && IsVeryShort(started))
        {
            throw new VeryShortWatchException(Kind);
        }
    }

    /// <summary>
    /// Lists every object in pages and brings the store in line with the list: new and changed
    /// objects are reported as they arrive, objects the list no longer holds as deleted. A continue
    /// token that expired (410) mid-list is answered as client-go's pager does with
    /// <c>FullListIfExpired</c> (tools/pager/pager.go): one more list, whole, without pages.
    /// </summary>
    private async Task RelistAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _listCount);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? continueToken = null;
        int? pageSize = _options.PageSize;
        string resourceVersion;
        do
        {
            ListPage<T> page;
            try
            {
                page = await _source.List(_options.LabelSelector, continueToken, pageSize, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone && continueToken is not null)
            {
                LogExpired(_logger, Kind, ResourceVersion, $"continue token expired: {e.Message}; listing whole");
                (continueToken, pageSize) = (null, null);
                page = await _source.List(_options.LabelSelector, null, null, cancellationToken).ConfigureAwait(false);
            }

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

        var deleted = new List<InformerEvent<T>>();
        lock (_writeLock)
        {
            foreach (var (key, stale) in _cache)
            {
                if (!seen.Contains(key) && _cache.TryRemove(key, out _))
                {
                    Reindex(key, stale, null);
                    deleted.Add(new InformerEvent<T>(InformerEventType.Deleted, stale, null));
                }
            }

            foreach (var (key, written) in _written)
            {
                // Gone from the list: deleted, unless written after the list's snapshot.
                if (!seen.Contains(key) && !IsNewer(written.ResourceVersion, resourceVersion))
                {
                    _written.TryRemove(key, out _);
                }
            }

            Volatile.Write(ref _resourceVersion, resourceVersion);
        }

        foreach (var e in deleted)
        {
            Notify(e);
        }

        _synced.TrySetResult();
        LogListed(_logger, Kind, _cache.Count, ResourceVersion);
    }

    /// <summary>One watch request, until the server ends the stream; returns the first error the watch reported, if any.</summary>
    private async Task<Exception?> WatchOnceAsync(WatchProgress progress, CancellationToken cancellationToken)
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

            progress.Events++;
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
                        var key = ObjectKey.Of(obj);
                        _cache.TryRemove(key, out last);
                        Reindex(key, last, null);
                        _written.TryRemove(key, out _);
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

    /// <summary>
    /// Stores a listed or watched object and reports the change to handlers, with the version they
    /// saw before as the old object. An object this process wrote and remembered is dropped from the
    /// overlay once the watch has delivered that version or a newer one.
    /// </summary>
    private void Upsert(string key, T item)
    {
        T? old;
        lock (_writeLock)
        {
            old = _cache.GetValueOrDefault(key);
            if (old is not null && !IsNewer(item.Metadata.ResourceVersion, old.Metadata.ResourceVersion))
            {
                return; // Seen already (a relist or a replayed event): the store never goes back.
            }

            item = _transform(item);
            _cache[key] = item;
            Reindex(key, old, item);
            if (_written.TryGetValue(key, out var written)
                && (written.Object is null ? IsNewer(item.Metadata.ResourceVersion, written.ResourceVersion) : !IsNewer(written.ResourceVersion, item.Metadata.ResourceVersion)))
            {
                _written.TryRemove(key, out _);
            }
        }

        Notify(new InformerEvent<T>(old is null ? InformerEventType.Added : InformerEventType.Modified, item, old));
    }

    /// <summary>Moves <paramref name="key"/> in every index from the value of <paramref name="old"/> to that of <paramref name="current"/> (null: absent). Under <c>_writeLock</c>.</summary>
    private void Reindex(string key, T? old, T? current)
    {
        foreach (var index in _indexes.Values)
        {
            index.Update(key, old, current);
        }
    }

    private void Notify(InformerEvent<T> informerEvent)
    {
        var handlers = _handlers; // One array reference, replaced whole by AddHandler and its disposal.
        foreach (var handler in handlers)
        {
            handler(informerEvent);
        }
    }

    /// <summary>What <see cref="Get"/> shows: a remembered write while newer than the watched object; a remembered deletion while the watched object is the version deleted.</summary>
    private static T? Overlay(T? watched, Written written) =>
        written.Object is { } object_
            ? watched is null || IsNewer(written.ResourceVersion, watched.Metadata.ResourceVersion) ? object_ : watched
            : watched is not null && IsNewer(watched.Metadata.ResourceVersion, written.ResourceVersion) ? watched : null;

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

    /// <summary>A watch that ended within <see cref="InformerOptions.VeryShortWatch"/> without an event.</summary>
    private sealed class VeryShortWatchException(string kind)
        : Exception($"very short watch of {kind}: the server ended it within {InformerOptions.VeryShortWatch.TotalSeconds:0} s without an event");

    /// <summary>Events one watch delivered.</summary>
    private sealed class WatchProgress
    {
        public long Events { get; set; }
    }

    /// <summary>A write of this process (<see cref="Object"/>), or a deletion (null), at <see cref="ResourceVersion"/>.</summary>
    private sealed record Written(T? Object, string? ResourceVersion);

    /// <summary>One index: the keys of the cached objects per value. Used under <c>_writeLock</c> only.</summary>
    private sealed class FieldIndex(Func<T, string?> valueOf)
    {
        private readonly Dictionary<string, HashSet<string>> _keys = new(StringComparer.Ordinal);

        public HashSet<string>? Keys(string value) => _keys.GetValueOrDefault(value);

        public void Update(string key, T? old, T? current)
        {
            var (from, to) = (old is null ? null : valueOf(old), current is null ? null : valueOf(current));
            if (from == to && (from is null || _keys.TryGetValue(from, out var same) && same.Contains(key)))
            {
                return;
            }

            if (from is not null && _keys.TryGetValue(from, out var previous) && previous.Remove(key) && previous.Count == 0)
            {
                _keys.Remove(from);
            }

            if (to is not null)
            {
                if (!_keys.TryGetValue(to, out var next))
                {
                    _keys[to] = next = new HashSet<string>(StringComparer.Ordinal);
                }

                next.Add(key);
            }
        }
    }

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }
}
