using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using MySql.Data.MySqlClient;

namespace UserApiService.Data;

/// <summary>
/// Reads the <c>Users</c> table (columns <c>user_id</c>, <c>username</c>, <c>email</c>) of
/// <see cref="DatabaseOptions.Database"/>. Every query is parameterised and runs on a pooled
/// connection inside a <see cref="DatabaseGate"/> slot.
/// </summary>
/// <remarks>
/// <para>
/// Driver calls are synchronous on purpose: MySql.Data 8.0.16's <c>*Async</c> methods block anyway;
/// see <see cref="DatabaseGate"/> for how that blocking is bounded.
/// </para>
/// <para>
/// Failure handling: any driver failure (connection refused, connection reset, timeout, SQL error)
/// clears the connection pool (<see cref="MySqlConnection.ClearPool"/>) and surfaces as
/// <see cref="DatabaseUnavailableException"/>. Clearing drops every idle pooled connection, which may
/// be dead too after a database restart, so one failure never poisons later requests; they open new
/// connections and succeed as soon as the database is back.
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

    private readonly string _connectionString;
    private readonly DatabaseGate _gate;
    private readonly ILogger<UserRepository> _logger;

    /// <summary>Creates the repository.</summary>
    /// <param name="options">Where the database is; see <see cref="DatabaseOptions"/>.</param>
    /// <param name="gate">Bounds concurrent database operations.</param>
    /// <param name="logger">Receives one warning per failed database operation.</param>
    public UserRepository(IOptions<DatabaseOptions> options, DatabaseGate gate, ILogger<UserRepository> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connectionString = options.Value.BuildConnectionString();
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
        using var connection = new MySqlConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = new MySqlCommand(SelectOneSql, connection);
            command.Parameters.Add("@id", MySqlDbType.Int64).Value = userId;
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadUser(reader) : null;
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            throw Fail(exception, connection, "find user");
        }
    }

    /// <summary>
    /// Runs the query for every user (ordered by <c>user_id</c>) and returns a one-shot stream of its
    /// rows. The connection is opened and the query executed before this method returns, so a database
    /// that is down fails here, before any HTTP response has started.
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
        var connection = new MySqlConnection(_connectionString);
        MySqlCommand? command = null;
        try
        {
            connection.Open();
            command = new MySqlCommand(SelectAllSql, connection);
            var reader = command.ExecuteReader();
            return new UserStream(this, lease, connection, command, reader);
        }
        catch (Exception exception)
        {
            command?.Dispose();
            connection.Dispose();
            lease.Dispose();
            if (IsDatabaseFailure(exception))
            {
                throw Fail(exception, connection, "list users");
            }

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
        using var connection = new MySqlConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = new MySqlCommand(PingSql, connection);
            _ = command.ExecuteScalar();
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            throw Fail(exception, connection, "check readiness");
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
    /// Logs the failure, clears the connection pool so that no dead pooled connection is handed out
    /// again, and returns the exception to throw.
    /// </summary>
    internal DatabaseUnavailableException Fail(Exception exception, MySqlConnection connection, string operation)
    {
        Log.DatabaseFailed(_logger, operation, exception.GetType().Name, exception.Message);
        try
        {
            MySqlConnection.ClearPool(connection);
        }
#pragma warning disable CA1031 // Clearing is best effort; the original failure is what matters.
        catch (Exception clearException)
#pragma warning restore CA1031
        {
            Log.ClearPoolFailed(_logger, clearException.Message);
        }

        return new DatabaseUnavailableException($"Database operation '{operation}' failed: {exception.Message}", exception);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
            Message = "Database operation '{Operation}' failed ({ErrorType}: {ErrorMessage}); connection pool cleared")]
        public static partial void DatabaseFailed(ILogger logger, string operation, string errorType, string errorMessage);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Clearing the connection pool failed: {ErrorMessage}")]
        public static partial void ClearPoolFailed(ILogger logger, string errorMessage);
    }
}
