using System.Diagnostics;
using Microsoft.Extensions.Options;
using MySql.Data.MySqlClient;

namespace UserApiService.Data;

/// <summary>
/// Open MySQL connections kept between requests, so that a request runs its query on a connection that
/// is already open, with its statement already prepared (<see cref="PooledConnection"/>): one round trip
/// to the server per query.
/// </summary>
/// <remarks>
/// <para>
/// Why not MySql.Data's own pool: MySql.Data 8.0.16 sends a <c>COM_PING</c> on every <c>Open</c> of a
/// pooled connection and then a <c>COM_INIT_DB</c> (<c>ChangeDatabase</c>), neither of which can be
/// switched off. That made every <c>GET /users/{id}</c> three round trips instead of one, and measured
/// with <c>bench/api</c> on 2 cores, opening a pooled connection per query halves the throughput of
/// the plain driver loop (see bench/api/README.md). The connection string therefore says
/// <c>Pooling=false</c> (see <see cref="DatabaseOptions.BuildConnectionString"/>) and this class keeps
/// the open connections instead.
/// </para>
/// <para>
/// Size: callers take a connection only while they hold a <see cref="DatabaseGate"/> slot, and hold at
/// most one, so at most <see cref="DatabaseOptions.MaxPoolSize"/> connections are ever open. The most
/// recently returned connection is handed out first; one idle for longer than <see cref="IdleTimeout"/>
/// is closed when another connection is returned, so a burst of load does not keep its connections
/// open for ever.
/// </para>
/// <para>
/// Dead connections (the server restarted, or closed an idle connection): <see cref="Clear"/> closes
/// every idle connection after a failure, and <see cref="UserRepository"/> retries a query once on a
/// new connection when a connection taken from this pool turns out to be dead, so a database restart
/// while the service is idle is invisible to clients.
/// </para>
/// </remarks>
public sealed class ConnectionPool : IDisposable
{
    /// <summary>Idle time after which a pooled connection is closed: 60 s.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private readonly string _connectionString;
    private readonly object _sync = new();

    // Idle connections, oldest first; Rent takes from the end (most recently returned).
    private readonly List<(PooledConnection Connection, long ReturnedAt)> _idle = [];
    private bool _disposed;

    /// <summary>Creates an empty pool.</summary>
    /// <param name="options">Database settings; <see cref="DatabaseOptions.BuildConnectionString"/> is used.</param>
    public ConnectionPool(IOptions<DatabaseOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connectionString = options.Value.BuildConnectionString();
    }

    /// <summary>Number of idle open connections right now.</summary>
    public int IdleCount
    {
        get
        {
            lock (_sync)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>
    /// Takes the most recently returned idle connection, or opens a new one when none is idle. Call it
    /// only while holding a <see cref="DatabaseGate"/> slot.
    /// </summary>
    /// <param name="reused">
    /// Whether the connection was idle in the pool (it may have died meanwhile); <see langword="false"/>
    /// when it was opened just now.
    /// </param>
    /// <returns>An open connection; give it back with <see cref="Return"/>, or dispose it when it failed.</returns>
    /// <exception cref="MySqlException">Opening a new connection failed.</exception>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    public PooledConnection Rent(out bool reused)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idle.Count > 0)
            {
                var last = _idle[^1].Connection;
                _idle.RemoveAt(_idle.Count - 1);
                reused = true;
                return last;
            }
        }

        reused = false;
        return OpenNew();
    }

    /// <summary>Opens a new connection that was never in the pool.</summary>
    /// <returns>An open connection.</returns>
    /// <exception cref="MySqlException">Opening failed.</exception>
    public PooledConnection OpenNew()
    {
        var connection = new MySqlConnection(_connectionString);
        try
        {
            connection.Open();
            return new PooledConnection(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gives a connection back after a successful operation (every result read or its reader disposed).
    /// A connection that is no longer open is disposed instead. Also closes connections idle for longer
    /// than <see cref="IdleTimeout"/>.
    /// </summary>
    /// <param name="connection">A connection from <see cref="Rent"/> or <see cref="OpenNew"/>.</param>
    public void Return(PooledConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        List<PooledConnection>? expired = null;
        var now = Stopwatch.GetTimestamp();
        lock (_sync)
        {
            if (!_disposed && connection.IsOpen)
            {
                _idle.Add((connection, now));
            }
            else
            {
                (expired ??= []).Add(connection);
            }

            while (_idle.Count > 1 && Stopwatch.GetElapsedTime(_idle[0].ReturnedAt, now) > IdleTimeout)
            {
                (expired ??= []).Add(_idle[0].Connection);
                _idle.RemoveAt(0);
            }
        }

        if (expired is not null)
        {
            CloseAll(expired);
        }
    }

    /// <summary>
    /// Closes every idle connection: after a failure they are likely dead too (e.g. the server
    /// restarted). Connections in use are not affected; they are disposed by their users if they fail.
    /// </summary>
    public void Clear()
    {
        List<PooledConnection> idle;
        lock (_sync)
        {
            idle = _idle.ConvertAll(entry => entry.Connection);
            _idle.Clear();
        }

        CloseAll(idle);
    }

    /// <summary>Closes every idle connection; later <see cref="Return"/> calls close theirs.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            _disposed = true;
        }

        Clear();
    }

    private static void CloseAll(List<PooledConnection> connections)
    {
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }
}
