using System.Data;
using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace UserApiService.Data;

/// <summary>
/// Reads the <c>Users</c> table (columns <c>user_id</c>, <c>username</c>, <c>email</c>) of
/// <see cref="DatabaseOptions.Database"/> through the service's <see cref="MySqlDataSource"/>,
/// asynchronously end to end: no thread waits for the database. Every query is parameterised; the two
/// <c>Users</c> queries are server-side prepared statements, prepared once per pooled connection (the
/// driver caches them per connection; see <see cref="DatabaseOptions.BuildConnectionString"/>).
/// </summary>
/// <remarks>
/// <para>
/// Concurrency: each operation takes one connection from the driver's pool and gives it back when it
/// ends (for <see cref="OpenAllAsync"/>, when its stream ends). When all
/// <see cref="DatabaseOptions.MaxPoolSize"/> connections are busy, the driver queues the request,
/// asynchronously, for up to <see cref="DatabaseOptions.ConnectTimeoutSeconds"/>, then fails it (503).
/// Streams (<see cref="OpenAllAsync"/>) may hold at most <see cref="DatabaseOptions.EffectiveMaxStreams"/>
/// of those connections at once, so that slow <c>/users</c> clients cannot take them all from
/// <see cref="FindAsync"/>. The readiness check has a pool of its own (<see cref="ReadinessCheck"/>).
/// </para>
/// <para>
/// Failure handling: any driver failure (connection refused, connection reset, timeout, SQL error)
/// surfaces as <see cref="DatabaseUnavailableException"/> (HTTP 503). The driver drops a connection
/// whose socket failed instead of pooling it again. With <c>ConnectionReset=false</c> it hands out an
/// idle connection without any round trip, so after a database restart every idle connection is dead
/// and is only found out by the query run on it (<see cref="IsBrokenConnection"/>). The query is then
/// run again on the next connection, up to <c>MaxPoolSize + 1</c> times in all, so that it can get
/// past every dead idle connection to a new one: a database restart while the service is idle is not
/// seen by clients. A dead connection fails at once (the socket is closed), so this costs
/// microseconds per dead connection, once. Every query here is a read, so running it again is safe.
/// Clearing the pool instead is not possible: <c>MySqlConnection.ClearPoolAsync</c> looks the pool up
/// by connection string and does not find a <see cref="MySqlDataSource"/>'s own pool
/// (MySqlConnector 2.6, <c>src/MySqlConnector/MySqlConnection.cs</c>, <c>ClearPoolAsync</c>), and
/// the data source has no method for it.
/// </para>
/// </remarks>
public sealed partial class UserRepository
{
    /// <summary>Query of <see cref="OpenAllAsync"/>: every user in primary-key order.</summary>
    internal const string SelectAllSql = "SELECT user_id, username, email FROM Users ORDER BY user_id";

    /// <summary>Query of <see cref="FindAsync"/>: one user by primary key, parameter <c>@id</c>.</summary>
    internal const string SelectOneSql = "SELECT user_id, username, email FROM Users WHERE user_id = @id";

    /// <summary>MariaDB's <c>ER_CONNECTION_KILLED</c> (not in <see cref="MySqlErrorCode"/>, which follows MySQL).</summary>
    private const int MariaDbConnectionKilled = 1927;

    private readonly MySqlDataSource _dataSource;
    private readonly ILogger<UserRepository> _logger;

    // One slot per open UserStream (DatabaseOptions.MaxStreams), waited for up to the connect timeout.
    private readonly SemaphoreSlim _streamSlots;
    private readonly int _maxStreams;
    private readonly TimeSpan _streamSlotWait;

    // Every idle connection of a full pool may be dead, plus one new connection.
    private readonly int _maxAttempts;

    /// <summary>Creates the repository.</summary>
    /// <param name="dataSource">The pooled data source built from <paramref name="options"/>.</param>
    /// <param name="options">Database settings; <see cref="DatabaseOptions.MaxPoolSize"/> bounds the retries.</param>
    /// <param name="logger">Receives one warning per failed database operation.</param>
    public UserRepository(MySqlDataSource dataSource, IOptions<DatabaseOptions> options, ILogger<UserRepository> logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = dataSource;
        _maxAttempts = options.Value.MaxPoolSize + 1;
        _maxStreams = options.Value.EffectiveMaxStreams;
        _streamSlots = new SemaphoreSlim(_maxStreams, _maxStreams);
        _streamSlotWait = TimeSpan.FromSeconds(options.Value.ConnectTimeoutSeconds);
        _logger = logger;
    }

    /// <summary>Finds one user by primary key.</summary>
    /// <param name="userId">Any 64-bit value; values no row has simply find nothing.</param>
    /// <param name="cancellationToken">Cancels the wait for a connection and the query (the request was aborted).</param>
    /// <returns>The user, or <see langword="null"/> when no row has that <c>user_id</c>.</returns>
    /// <exception cref="DatabaseUnavailableException">The database could not answer.</exception>
    public Task<User?> FindAsync(long userId, CancellationToken cancellationToken) =>
        RunAsync("find user", userId, static async (connection, id, token) =>
        {
            await using var command = new MySqlCommand(SelectOneSql, connection);
            command.Parameters.Add(new MySqlParameter("@id", MySqlDbType.Int64) { Value = id });
            await command.PrepareAsync(token).ConfigureAwait(false);
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, token).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadAsync(token).ConfigureAwait(false) ? ReadUser(reader) : null;
            }
        }, cancellationToken);

    /// <summary>
    /// Runs the query for every user (ordered by <c>user_id</c>) and returns a one-shot stream of its
    /// rows. The query is executed before this method returns, so a database that is down fails here,
    /// before any HTTP response has started. At most <see cref="DatabaseOptions.EffectiveMaxStreams"/>
    /// streams are open at once; beyond that this waits for one to end, up to
    /// <see cref="DatabaseOptions.ConnectTimeoutSeconds"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for a stream slot or a connection, and the query.</param>
    /// <returns>
    /// A stream that reads rows from the server as they are enumerated and holds a pooled connection and
    /// a stream slot until it is enumerated to the end or disposed. Dispose it in every case.
    /// </returns>
    /// <exception cref="TooManyStreamsException">Every stream slot stayed taken for the whole wait.</exception>
    /// <exception cref="DatabaseUnavailableException">The database could not answer.</exception>
    public async Task<UserStream> OpenAllAsync(CancellationToken cancellationToken)
    {
        if (!await _streamSlots.WaitAsync(_streamSlotWait, cancellationToken).ConfigureAwait(false))
        {
            Log.StreamSlotsExhausted(_logger, _maxStreams, (int)_streamSlotWait.TotalSeconds);
            throw new TooManyStreamsException(
                $"All {_maxStreams} /users stream slots stayed taken for {_streamSlotWait.TotalSeconds} s.");
        }

        try
        {
            return await RunAsync("list users", (Repository: this, Slot: _streamSlots), static async (connection, state, token) =>
            {
                var command = new MySqlCommand(SelectAllSql, connection);
                try
                {
                    await command.PrepareAsync(token).ConfigureAwait(false);
                    var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
                    return new UserStream(state.Repository, connection, command, reader, state.Slot);
                }
                catch
                {
                    await command.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }, cancellationToken, keepConnection: true).ConfigureAwait(false);
        }
        catch
        {
            _streamSlots.Release();
            throw;
        }
    }

    /// <summary>Maps the current row of <paramref name="reader"/> (columns of <see cref="SelectAllSql"/>).</summary>
    internal static User ReadUser(MySqlDataReader reader) => new(
        reader.GetInt32(0),
        reader.IsDBNull(1) ? null : reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2));

    /// <summary>Whether <paramref name="exception"/> comes from the database or the network to it.</summary>
    internal static bool IsDatabaseFailure(Exception exception) =>
        exception is DbException or IOException or SocketException or TimeoutException;

    /// <summary>
    /// Whether <paramref name="exception"/> means that the connection itself is broken (its socket
    /// failed, or the server killed it while shutting down) rather than that the server answered with
    /// an error (SQL error, timeout). MySqlConnector closes a connection whose socket failed; a
    /// MariaDB that shuts down first tells its idle connections why (error 1927, <c>Connection was
    /// killed</c>, or 1053, <c>Server shutdown in progress</c>), which the next query on them reads.
    /// </summary>
    internal static bool IsBrokenConnection(Exception exception, MySqlConnection connection)
    {
        if (connection.State != ConnectionState.Open)
        {
            return true;
        }

        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is IOException or SocketException
                || current is MySqlException { Number: MariaDbConnectionKilled or (int)MySqlErrorCode.ServerShutdown })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Logs a failure of <paramref name="operation"/> and returns the exception to throw.</summary>
    internal DatabaseUnavailableException Fail(Exception exception, string operation)
    {
        Log.DatabaseFailed(_logger, operation, exception.GetType().Name, exception.Message);
        return new DatabaseUnavailableException($"Database operation '{operation}' failed: {exception.Message}", exception);
    }

    /// <summary>
    /// Opens a pooled connection, runs <paramref name="query"/> on it and, unless
    /// <paramref name="keepConnection"/> (the result then owns the connection), gives it back. When the
    /// connection turns out to be broken, runs the query again on the next one, up to
    /// <see cref="_maxAttempts"/> times in all (see the class remarks).
    /// </summary>
    private async Task<TResult> RunAsync<TState, TResult>(
        string operation,
        TState state,
        Func<MySqlConnection, TState, CancellationToken, Task<TResult>> query,
        CancellationToken cancellationToken,
        bool keepConnection = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            MySqlConnection connection;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (IsDatabaseFailure(exception) && !cancellationToken.IsCancellationRequested)
            {
                throw Fail(exception, operation);
            }

            var owned = false;
            try
            {
                var result = await query(connection, state, cancellationToken).ConfigureAwait(false);
                owned = keepConnection;
                return result;
            }
            catch (Exception exception) when (IsDatabaseFailure(exception) && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= _maxAttempts || !IsBrokenConnection(exception, connection))
                {
                    throw Fail(exception, operation);
                }

                // It died while idle in the pool (e.g. the server restarted); the driver drops it when
                // it is disposed below, and the next attempt takes another one or opens a new one.
                Log.RetryingOnNextConnection(_logger, operation, exception.GetType().Name, exception.Message);
            }
            finally
            {
                if (!owned)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
            Message = "Database operation '{Operation}' failed ({ErrorType}: {ErrorMessage})")]
        public static partial void DatabaseFailed(ILogger logger, string operation, string errorType, string errorMessage);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
            Message = "All {MaxStreams} /users stream slots stayed taken for {WaitSeconds} s; answering 503")]
        public static partial void StreamSlotsExhausted(ILogger logger, int maxStreams, int waitSeconds);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information,
            Message = "Database operation '{Operation}' found a dead pooled connection ({ErrorType}: {ErrorMessage}); retrying on the next one")]
        public static partial void RetryingOnNextConnection(ILogger logger, string operation, string errorType, string errorMessage);
    }
}
