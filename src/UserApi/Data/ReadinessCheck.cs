using Microsoft.Extensions.Options;
using MySqlConnector;

namespace UserApiService.Data;

/// <summary>
/// The database check behind <c>GET /ready</c>: <c>SELECT 1</c> over a connection of its own, answered
/// within <see cref="DatabaseOptions.ReadyTimeoutMilliseconds"/>.
/// </summary>
/// <remarks>
/// <para>
/// Own pool: a <see cref="MySqlDataSource"/> of at most one connection
/// (<see cref="DatabaseOptions.BuildReadinessConnectionString"/>), named
/// <c>&lt;MYSQL_POOL_NAME&gt;-ready</c>. Requests of the request pool, however many and however slow
/// their clients, never make the check wait: readiness says whether the database answers, which is
/// what the kubelet needs to decide whether the Pod should get traffic. (A full request pool is the
/// same on every replica; taking them all out of the Service's endpoints would only turn slow answers
/// into refused connections.)
/// </para>
/// <para>
/// One check at a time: callers that arrive while a check runs share its outcome, so a flood of
/// <c>/ready</c> requests (the path is reachable through the Service and Ingress) costs one query, and
/// never more than the one connection. Each caller waits at most the timeout from its own arrival and
/// then gets <see cref="DatabaseUnavailableException"/> (503), even when the driver has not given up
/// yet (a server that accepts connections but does not answer): the check itself ends within the
/// driver's timeouts, and the next caller after it starts a new one.
/// </para>
/// <para>
/// A pooled connection that died while idle (the database restarted between two probes) fails at once
/// on its socket; the check then runs once more on a new connection, within the same timeout, as
/// <see cref="UserRepository"/> does.
/// </para>
/// </remarks>
public sealed partial class ReadinessCheck : IAsyncDisposable
{
    /// <summary>Query of the check.</summary>
    internal const string PingSql = "SELECT 1";

    private readonly MySqlDataSource _dataSource;
    private readonly TimeSpan _timeout;
    private readonly ILogger<ReadinessCheck> _logger;
    private readonly Lock _lock = new();
    private Task<Exception?>? _running;

    /// <summary>Creates the check and its pool (no connection is opened until the first check).</summary>
    /// <param name="options">Database settings: server, login, TLS, <see cref="DatabaseOptions.ReadyTimeoutMilliseconds"/>, <see cref="DatabaseOptions.PoolName"/>.</param>
    /// <param name="loggerFactory">For the driver's log and one warning per failed check.</param>
    public ReadinessCheck(IOptions<DatabaseOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var settings = options.Value;
        _timeout = TimeSpan.FromMilliseconds(settings.ReadyTimeoutMilliseconds);
        _logger = loggerFactory.CreateLogger<ReadinessCheck>();
        _dataSource = new MySqlDataSourceBuilder(settings.BuildReadinessConnectionString())
            .UseLoggerFactory(loggerFactory)
            .UseName(PoolNameOf(settings.PoolName))
            .Build();
    }

    /// <summary>The name of the readiness pool for a request pool named <paramref name="poolName"/>: <c>&lt;poolName&gt;-ready</c>.</summary>
    /// <param name="poolName">The request pool's name (<see cref="DatabaseOptions.PoolName"/>).</param>
    /// <returns>The <c>pool_name</c> label of the readiness pool's figures on <c>/metrics</c>.</returns>
    public static string PoolNameOf(string poolName) => poolName + "-ready";

    /// <summary>Checks that the database answers <c>SELECT 1</c>, within the readiness timeout.</summary>
    /// <param name="cancellationToken">Stops this caller's wait (the request was aborted); a check shared with others goes on.</param>
    /// <returns>A task that completes when the database answered.</returns>
    /// <exception cref="DatabaseUnavailableException">The database did not answer, or not within the timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        Exception? failure;
        try
        {
            failure = await Start().WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.CheckTimedOut(_logger, (int)_timeout.TotalMilliseconds);
            throw new DatabaseUnavailableException($"The readiness check got no answer within {_timeout.TotalMilliseconds} ms.");
        }

        if (failure is not null)
        {
            throw new DatabaseUnavailableException($"Database operation 'check readiness' failed: {failure.Message}", failure);
        }
    }

    /// <summary>
    /// Starts a check in the background, unless one is running, without waiting for it: called when the
    /// service has started, so that the first probe finds the connection open and the driver's code
    /// compiled (the first check of a new process took 0.7 s here, most of the timeout). Its outcome is
    /// only logged.
    /// </summary>
    public void Prepare() => _ = Start();

    /// <summary>Closes the readiness pool.</summary>
    /// <returns>A task that completes when its connection is closed.</returns>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>The running check, or a new one.</summary>
    private Task<Exception?> Start()
    {
        lock (_lock)
        {
            if (_running is not { IsCompleted: false } running)
            {
                // Off the caller's thread, so that nothing runs under the lock; never faults (see RunAsync).
                running = _running = Task.Run(RunAsync, CancellationToken.None);
            }

            return running;
        }
    }

    /// <summary>Runs the check once; returns the failure, or <see langword="null"/> when the database answered.</summary>
    private async Task<Exception?> RunAsync()
    {
        using var timeout = new CancellationTokenSource(_timeout);
        // A dead idle connection, then a new one (see the class remarks).
        for (var attempt = 1; ; attempt++)
        {
            MySqlConnection? connection = null;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(timeout.Token).ConfigureAwait(false);
                await using var command = new MySqlCommand(PingSql, connection);
                await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
                return null;
            }
#pragma warning disable CA1031 // Every failure is the check's outcome, handed to the callers.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                if (attempt == 1 && connection is not null && !timeout.IsCancellationRequested
                    && UserRepository.IsDatabaseFailure(exception) && UserRepository.IsBrokenConnection(exception, connection))
                {
                    Log.RetryingOnNewConnection(_logger, exception.GetType().Name, exception.Message);
                    continue;
                }

                Log.CheckFailed(_logger, exception.GetType().Name, exception.Message);
                return exception;
            }
            finally
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
            Message = "Readiness check failed ({ErrorType}: {ErrorMessage})")]
        public static partial void CheckFailed(ILogger logger, string errorType, string errorMessage);

        [LoggerMessage(EventId = 12, Level = LogLevel.Warning,
            Message = "Readiness check got no answer within {TimeoutMilliseconds} ms")]
        public static partial void CheckTimedOut(ILogger logger, int timeoutMilliseconds);

        [LoggerMessage(EventId = 13, Level = LogLevel.Information,
            Message = "Readiness check found a dead pooled connection ({ErrorType}: {ErrorMessage}); retrying on a new one")]
        public static partial void RetryingOnNewConnection(ILogger logger, string errorType, string errorMessage);
    }
}
