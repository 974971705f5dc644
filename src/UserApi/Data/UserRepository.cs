using System.Data.Common;
using System.Net.Sockets;
using MySql.Data.MySqlClient;

namespace UserApiService.Data;

/// <summary>
/// Reads the <c>Users</c> table (columns <c>user_id</c>, <c>username</c>, <c>email</c>) of
/// <see cref="DatabaseOptions.Database"/>. Every query is parameterised (the two <c>Users</c> queries are
/// server-side prepared statements, see <see cref="PooledConnection"/>) and runs inside a
/// <see cref="DatabaseGate"/> slot on an open connection of the <see cref="ConnectionPool"/>.
/// </summary>
/// <remarks>
/// <para>
/// Driver calls are synchronous on purpose: MySql.Data 8.0.16's <c>*Async</c> methods block anyway;
/// see <see cref="DatabaseGate"/> for how that blocking is bounded.
/// </para>
/// <para>
/// Failure handling: any driver failure (connection refused, connection reset, timeout, SQL error)
/// closes the connection it happened on and every idle one (<see cref="ConnectionPool.Clear"/>), which
/// may be dead too after a database restart, and surfaces as <see cref="DatabaseUnavailableException"/>;
/// later requests open new connections and succeed as soon as the database is back. One exception: when
/// a connection taken idle from the pool turns out to be broken (<see cref="IsBrokenConnection"/>), the
/// query is retried once on a new connection, so a database restart while the service is idle is not
/// seen by clients. Every query here is a read, so running it again is safe.
/// </para>
/// </remarks>
public sealed partial class UserRepository
{
    /// <summary>Query of <see cref="OpenAllAsync"/>: every user in primary-key order.</summary>
    internal const string SelectAllSql = "SELECT user_id, username, email FROM Users ORDER BY user_id";

    /// <summary>Query of <see cref="FindAsync"/>: one user by primary key, parameter <c>@id</c>.</summary>
    internal const string SelectOneSql = "SELECT user_id, username, email FROM Users WHERE user_id = @id";

    /// <summary>Query of <see cref="CheckAsync"/>.</summary>
    internal const string PingSql = "SELECT 1";

    private readonly ConnectionPool _connections;
    private readonly DatabaseGate _gate;
    private readonly ILogger<UserRepository> _logger;

    /// <summary>Creates the repository.</summary>
    /// <param name="connections">Open connections to the database; see <see cref="ConnectionPool"/>.</param>
    /// <param name="gate">Bounds concurrent database operations.</param>
    /// <param name="logger">Receives one warning per failed database operation.</param>
    public UserRepository(ConnectionPool connections, DatabaseGate gate, ILogger<UserRepository> logger)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _gate = gate;
        _logger = logger;
    }

    /// <summary>Finds one user by primary key.</summary>
    /// <param name="userId">Any 64-bit value; values no row has simply find nothing.</param>
    /// <param name="cancellationToken">Cancels the wait for a gate slot.</param>
    /// <returns>The user, or <see langword="null"/> when no row has that <c>user_id</c>.</returns>
    /// <exception cref="DatabaseUnavailableException">The database could not answer.</exception>
    public async Task<User?> FindAsync(long userId, CancellationToken cancellationToken)
    {
        using var lease = await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        return Run("find user", keepConnection: false, connection =>
        {
            var command = connection.Prepared(SelectOneSql, ("@id", MySqlDbType.Int64));
            command.Parameters[0].Value = userId;
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadUser(reader) : null;
        });
    }

    /// <summary>
    /// Runs the query for every user (ordered by <c>user_id</c>) and returns a one-shot stream of its
    /// rows. The query is executed before this method returns, so a database that is down fails here,
    /// before any HTTP response has started.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for a gate slot.</param>
    /// <returns>
    /// A stream that reads one row at a time from the server and holds a gate slot and a connection
    /// until it is enumerated to the end or disposed. Dispose it in every case.
    /// </returns>
    /// <exception cref="DatabaseUnavailableException">The database could not answer.</exception>
    public async Task<UserStream> OpenAllAsync(CancellationToken cancellationToken)
    {
        var lease = await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return Run("list users", keepConnection: true, connection =>
                new UserStream(this, lease, connection, connection.Prepared(SelectAllSql).ExecuteReader()));
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Checks that the database answers <c>SELECT 1</c> (readiness).</summary>
    /// <param name="cancellationToken">Cancels the wait for a gate slot.</param>
    /// <returns>A task that completes when the database answered.</returns>
    /// <exception cref="DatabaseUnavailableException">The database could not answer.</exception>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        using var lease = await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
        _ = Run("check readiness", keepConnection: false, connection =>
        {
            using var command = new MySqlCommand(PingSql, connection.Connection);
            return command.ExecuteScalar();
        });
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
    /// Whether <paramref name="exception"/> means the connection itself is broken (its socket failed,
    /// e.g. the server restarted), as opposed to an error the server answered with (SQL error, timeout).
    /// MySql.Data sometimes closes such a connection and sometimes leaves it marked open, wrapping the
    /// socket error in a <see cref="MySqlException"/>.
    /// </summary>
    internal static bool IsBrokenConnection(Exception exception, PooledConnection connection)
    {
        if (!connection.IsOpen)
        {
            return true;
        }

        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is IOException or SocketException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Gives the connection of a finished <see cref="UserStream"/> back to the pool, or closes it when
    /// the stream failed.
    /// </summary>
    internal void Release(PooledConnection connection, bool healthy)
    {
        if (healthy)
        {
            _connections.Return(connection);
        }
        else
        {
            connection.Dispose();
        }
    }

    /// <summary>
    /// Logs the failure, closes the idle pooled connections so that no dead connection is handed out
    /// again, and returns the exception to throw. The caller disposes the connection that failed.
    /// </summary>
    internal DatabaseUnavailableException Fail(Exception exception, string operation)
    {
        Log.DatabaseFailed(_logger, operation, exception.GetType().Name, exception.Message);
        _connections.Clear();
        return new DatabaseUnavailableException($"Database operation '{operation}' failed: {exception.Message}", exception);
    }

    /// <summary>
    /// Runs <paramref name="query"/> on a pooled connection and, unless <paramref name="keepConnection"/>
    /// (the result then owns the connection), gives the connection back. Retries once on a new connection
    /// when a reused one turns out to be dead.
    /// </summary>
    private T Run<T>(string operation, bool keepConnection, Func<PooledConnection, T> query)
    {
        PooledConnection connection;
        bool reused;
        try
        {
            connection = _connections.Rent(out reused);
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            throw Fail(exception, operation);
        }

        while (true)
        {
            try
            {
                var result = query(connection);
                if (!keepConnection)
                {
                    _connections.Return(connection);
                }

                return result;
            }
            catch (Exception exception) when (IsDatabaseFailure(exception))
            {
                var dead = IsBrokenConnection(exception, connection);
                connection.Dispose();
                if (!(reused && dead))
                {
                    throw Fail(exception, operation);
                }

                // It died while idle in the pool (e.g. the server restarted); the other idle ones too.
                Log.RetryingOnNewConnection(_logger, operation, exception.GetType().Name, exception.Message);
                _connections.Clear();
                reused = false;
                try
                {
                    connection = _connections.OpenNew();
                }
                catch (Exception openException) when (IsDatabaseFailure(openException))
                {
                    throw Fail(openException, operation);
                }
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
            Message = "Database operation '{Operation}' failed ({ErrorType}: {ErrorMessage}); idle connections closed")]
        public static partial void DatabaseFailed(ILogger logger, string operation, string errorType, string errorMessage);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information,
            Message = "Database operation '{Operation}' found a dead pooled connection ({ErrorType}: {ErrorMessage}); retrying once on a new connection")]
        public static partial void RetryingOnNewConnection(ILogger logger, string operation, string errorType, string errorMessage);
    }
}
