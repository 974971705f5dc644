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
/// threads ever block on MySQL, and the driver's pool can never run dry (when it does, MySql.Data
/// blocks the caller for the whole connect timeout before failing). A request that waits longer
/// than <see cref="DatabaseOptions.ConnectTimeoutSeconds"/> fails with
/// <see cref="DatabaseUnavailableException"/> (HTTP 503).</item>
/// <item><see cref="ConfigureThreadPool"/>: raises the thread-pool minimum to
/// <c>ProcessorCount + MaxPoolSize</c> worker threads, so that the pool creates threads at once for
/// the at most <c>MaxPoolSize</c> blocked ones instead of injecting one or two a second, and request
/// parsing, JSON writing and <c>/status</c> keep their own threads even when every slot blocks.</item>
/// </list>
/// <para>
/// A slot is held from before the connection is opened until it is returned to the pool; for
/// <c>GET /users</c> that is until the last row has been written to the client.
/// </para>
/// </remarks>
public sealed class DatabaseGate : IDisposable
{
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
    /// Raises the thread-pool minimum of worker threads to <c>Environment.ProcessorCount + maxPoolSize</c>
    /// (never lowers it). Call once at start-up.
    /// </summary>
    /// <param name="maxPoolSize">Number of gate slots, i.e. of threads that may block on the driver.</param>
    public static void ConfigureThreadPool(int maxPoolSize)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        var wanted = Environment.ProcessorCount + maxPoolSize;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, completionPorts);
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
