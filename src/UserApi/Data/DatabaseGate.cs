using Microsoft.Extensions.Options;

namespace UserApiService.Data;

/// <summary>
/// Bounds the number of database operations that run at once to
/// <see cref="DatabaseOptions.MaxPoolSize"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why: MySql.Data 8.0.16 implements its <c>*Async</c> methods synchronously (they block and return a
/// completed task), so every database operation occupies a thread-pool thread for its whole duration,
/// whatever API is called. The service therefore calls the driver's synchronous methods (honest about
/// what happens) and makes the blocking safe in two ways:
/// </para>
/// <list type="number">
/// <item>This gate: a request waits <em>asynchronously</em> (no thread held) for one of
/// <see cref="DatabaseOptions.MaxPoolSize"/> slots before it touches the driver. At most that many
/// threads ever block on MySQL, and at most that many connections are ever open (a slot holder uses
/// one connection of the <see cref="ConnectionPool"/>). A request that waits longer
/// than <see cref="DatabaseOptions.ConnectTimeoutSeconds"/> fails with
/// <see cref="DatabaseUnavailableException"/> (HTTP 503).</item>
/// <item><see cref="ConfigureThreadPool"/>: raises the thread-pool minimum to
/// <c>ProcessorCount + MaxPoolSize</c> worker threads, so that the pool creates threads at once for
/// the at most <c>MaxPoolSize</c> blocked ones instead of injecting one or two a second, and request
/// parsing, JSON writing and <c>/status</c> keep their own threads even when every slot blocks. It
/// also caps the pool at <c>MaxPoolSize + 4 × ProcessorCount</c> workers: since at most
/// <c>MaxPoolSize</c> threads block, more threads than that only take turns on the processors. Measured
/// with bench/api on 2 processors, the pool's own heuristics grew it to 30 workers under load, and
/// capping it at 16 took the p99 latency of <c>GET /users/{id}</c> at 64 connections from about 9.5 ms
/// to 8.9 ms at the same throughput.</item>
/// </list>
/// <para>
/// A slot is held from before a connection is taken from the <see cref="ConnectionPool"/> until it is
/// given back; for <c>GET /users</c> that is until the last row has been written to the client.
/// </para>
/// <para>
/// Size: a slot is a thread that blocks, so the default scales with the processors
/// (<see cref="DatabaseOptions.DefaultMaxPoolSize"/>, 8 on 2 processors). Measured with bench/api on
/// 2 processors: more slots than that bought no throughput and doubled the p99 latency, because the
/// extra blocked threads (and the server threads of their connections) wake up together and queue for
/// the same two processors; requests beyond the slots wait here instead, asynchronously and in order.
/// </para>
/// </remarks>
public sealed class DatabaseGate : IDisposable
{
    private static readonly object ThreadPoolSync = new();
    private static int s_maxWorkers;

    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _waitTimeout;

    /// <summary>Creates a gate with <see cref="DatabaseOptions.MaxPoolSize"/> slots.</summary>
    /// <param name="options">Database settings; <c>MaxPoolSize</c> and <c>ConnectTimeoutSeconds</c> are used.</param>
    public DatabaseGate(IOptions<DatabaseOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = options.Value.MaxPoolSize;
        _slots = new SemaphoreSlim(Capacity, Capacity);
        _waitTimeout = TimeSpan.FromSeconds(options.Value.ConnectTimeoutSeconds);
    }

    /// <summary>Number of slots: database operations allowed at once.</summary>
    public int Capacity { get; }

    /// <summary>Number of slots free right now (0..<see cref="Capacity"/>).</summary>
    public int Available => _slots.CurrentCount;

    /// <summary>
    /// Sets the thread-pool maximum of worker threads to <c>maxPoolSize + 4 × Environment.ProcessorCount</c>
    /// and raises the minimum to <c>Environment.ProcessorCount + maxPoolSize</c>. Call once at start-up.
    /// Several applications in one process (tests) share the thread pool: the maximum is then that of
    /// the largest <paramref name="maxPoolSize"/> configured so far, and the minimum is never lowered.
    /// </summary>
    /// <param name="maxPoolSize">Number of gate slots, i.e. of threads that may block on the driver.</param>
    public static void ConfigureThreadPool(int maxPoolSize)
    {
        lock (ThreadPoolSync)
        {
            s_maxWorkers = Math.Max(s_maxWorkers, maxPoolSize + (4 * Environment.ProcessorCount));
            ThreadPool.GetMaxThreads(out _, out var maxCompletionPorts);
            // Refused (false) when below the current minimum; the pool then stays as it is.
            _ = ThreadPool.SetMaxThreads(s_maxWorkers, maxCompletionPorts);

            ThreadPool.GetMinThreads(out var workers, out var completionPorts);
            var wanted = Environment.ProcessorCount + maxPoolSize;
            if (workers < wanted)
            {
                ThreadPool.SetMinThreads(wanted, completionPorts);
            }
        }
    }

    /// <summary>
    /// Waits asynchronously for a free slot. Dispose the returned lease to give the slot back.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (e.g. the client went away).</param>
    /// <returns>A lease that releases the slot when disposed (once; later calls do nothing).</returns>
    /// <exception cref="DatabaseUnavailableException">No slot became free within the connect timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<Lease> EnterAsync(CancellationToken cancellationToken)
    {
        if (!await _slots.WaitAsync(_waitTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new DatabaseUnavailableException(
                $"all {Capacity} database connections stayed busy for {_waitTimeout.TotalSeconds:0} s");
        }

        return new Lease(_slots);
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();

    /// <summary>One held slot of a <see cref="DatabaseGate"/>; dispose it to release the slot.</summary>
    public sealed class Lease : IDisposable
    {
        private SemaphoreSlim? _slots;

        internal Lease(SemaphoreSlim slots) => _slots = slots;

        /// <summary>Releases the slot; later calls do nothing.</summary>
        public void Dispose() => Interlocked.Exchange(ref _slots, null)?.Release();
    }
}
