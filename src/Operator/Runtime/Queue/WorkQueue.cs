namespace UserApiOperator.Runtime.Queue;

/// <summary>
/// The controller's work queue, with client-go's workqueue semantics:
/// <list type="bullet">
/// <item>a key is queued at most once however often it is added (deduplication);</item>
/// <item>a key being processed is never handed out again until <see cref="Done"/>: two reconciles
/// of the same object never run at once; a key added meanwhile is queued again on <see cref="Done"/>;</item>
/// <item><see cref="AddRateLimited"/> retries with per-key exponential backoff (<see cref="ExponentialBackoff"/>),
/// <see cref="Forget"/> resets it, <see cref="AddAfter"/> delays an add (periodic requeue);</item>
/// <item>a key waits for at most one delayed add, the earliest asked for: client-go's delaying queue
/// keeps one entry per item and moves it earlier when asked for an earlier time, never later
/// (util/workqueue/delaying_queue.go, <c>insert</c>), so a key that asks to be requeued on every
/// event or resync does not start a new chain of requeues each time.</item>
/// </list>
/// Keys are strings (<c>namespace/name</c>). Thread-safe; <see cref="Dispose"/> (idempotent) cancels pending delayed adds.
/// </summary>
/// <param name="backoff">Per-key retry delays.</param>
/// <param name="timeProvider">Clock for delayed adds; <see cref="TimeProvider.System"/> in production.</param>
/// <param name="metrics">Receives client-go's workqueue measurements (adds, retries, queue and work durations); null for none.</param>
public sealed class WorkQueue(ExponentialBackoff backoff, TimeProvider timeProvider, IWorkQueueMetrics? metrics = null) : IDisposable
{
    private readonly Dictionary<string, long> _queuedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _startedAt = new(StringComparer.Ordinal);
    private readonly object _lock = new();
    private readonly Queue<string> _queue = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Delayed> _delayed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _available = new(0);
    private int _disposedFlag;

    /// <summary>Keys waiting to be processed (the <c>workqueue_depth</c> metric).</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Queues <paramref name="key"/> unless it is already queued.</summary>
    public void Add(string key)
    {
        lock (_lock)
        {
            if (!_dirty.Add(key))
            {
                return;
            }

            metrics?.Added();
            _queuedAt[key] = timeProvider.GetTimestamp();
            if (_processing.Contains(key))
            {
                return; // Re-queued by Done.
            }

            _queue.Enqueue(key);
        }

        _available.Release();
    }

    /// <summary>Keys waiting for a delayed add (<see cref="AddAfter"/>, <see cref="AddRateLimited"/>).</summary>
    public int DelayedCount
    {
        get
        {
            lock (_lock)
            {
                return _delayed.Count;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="key"/> after <paramref name="delay"/> (at once when zero or negative).
    /// When the key already waits for a delayed add, the earlier of the two times stands.
    /// </summary>
    public void AddAfter(string key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var due = timeProvider.GetTimestamp() + (long)(delay.TotalSeconds * timeProvider.TimestampFrequency);
        lock (_lock)
        {
            if (Volatile.Read(ref _disposedFlag) != 0 || (_delayed.TryGetValue(key, out var waiting) && waiting.Due <= due))
            {
                return;
            }

            waiting?.Timer.Dispose();
            var entry = new Delayed(due);
            _delayed[key] = entry;
            entry.Timer = timeProvider.CreateTimer(_ => Fire(key, entry), null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Queues <paramref name="key"/> after its next backoff delay; returns that delay.</summary>
    public TimeSpan AddRateLimited(string key)
    {
        var delay = backoff.NextDelay(key);
        metrics?.Retried();
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Resets the backoff of <paramref name="key"/>.</summary>
    public void Forget(string key) => backoff.Forget(key);

    /// <summary>Consecutive failures of <paramref name="key"/> since the last <see cref="Forget"/>.</summary>
    public int Failures(string key) => backoff.Failures(key);

    /// <summary>Waits for the next key and marks it as being processed; call <see cref="Done"/> when finished.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<string> TakeAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            var key = _queue.Dequeue();
            _dirty.Remove(key);
            _processing.Add(key);
            var now = timeProvider.GetTimestamp();
            if (_queuedAt.Remove(key, out var queued))
            {
                metrics?.Waited(timeProvider.GetElapsedTime(queued, now));
            }

            _startedAt[key] = now;
            return key;
        }
    }

    /// <summary>Marks <paramref name="key"/> as processed; queues it again if it was added meanwhile.</summary>
    public void Done(string key)
    {
        lock (_lock)
        {
            _processing.Remove(key);
            if (_startedAt.Remove(key, out var started))
            {
                metrics?.Worked(timeProvider.GetElapsedTime(started));
            }

            if (!_dirty.Contains(key))
            {
                return;
            }

            _queue.Enqueue(key);
        }

        _available.Release();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposedFlag, 1) != 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var entry in _delayed.Values)
            {
                entry.Timer.Dispose();
            }

            _delayed.Clear();
        }

        _available.Dispose();
    }

    private void Fire(string key, Delayed entry)
    {
        lock (_lock)
        {
            if (!_delayed.TryGetValue(key, out var current) || !ReferenceEquals(current, entry))
            {
                return; // Replaced by an earlier one, or the queue was disposed.
            }

            _delayed.Remove(key);
            entry.Timer.Dispose();
        }

        try
        {
            Add(key);
        }
        catch (ObjectDisposedException)
        {
            // The queue is shutting down.
        }
    }

    /// <summary>A pending delayed add: when it is due (a <see cref="TimeProvider"/> timestamp) and its timer.</summary>
    private sealed class Delayed(long due)
    {
        public long Due { get; } = due;

        public ITimer Timer { get; set; } = null!;
    }
}

/// <summary>
/// What a <see cref="WorkQueue"/> reports, for client-go's workqueue metrics (<c>workqueue_adds_total</c>,
/// <c>workqueue_retries_total</c>, <c>workqueue_queue_duration_seconds</c>, <c>workqueue_work_duration_seconds</c>).
/// Called under the queue's lock: implementations must be quick and must not call back into the queue.
/// </summary>
public interface IWorkQueueMetrics
{
    /// <summary>A key was queued (not counted when it was queued already).</summary>
    void Added();

    /// <summary>A key was queued again after a failure (<see cref="WorkQueue.AddRateLimited"/>).</summary>
    void Retried();

    /// <summary>A key waited <paramref name="duration"/> in the queue before a worker took it.</summary>
    void Waited(TimeSpan duration);

    /// <summary>A worker held a key for <paramref name="duration"/> (from take to done).</summary>
    void Worked(TimeSpan duration);
}
