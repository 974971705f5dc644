using MySqlConnector;

namespace UserApiService.Data;

/// <summary>
/// Where and how the service reaches MySQL or MariaDB. Bound from configuration, so every property can
/// be set by an environment variable (the key in brackets) or a <c>--KEY=value</c> command-line
/// argument. <see cref="Validate"/> runs at start-up: an invalid value stops the service with a
/// message naming the variable.
/// </summary>
public sealed class DatabaseOptions
{
    /// <summary>Values accepted by <see cref="SslMode"/>, as MySqlConnector names them.</summary>
    public static readonly IReadOnlyList<string> SslModes = ["None", "Preferred", "Required", "VerifyCA", "VerifyFull"];

    /// <summary>Host name or IP address of the server [<c>MYSQL_HOST</c>]. Default <c>127.0.0.1</c>.</summary>
    [ConfigurationKeyName("MYSQL_HOST")]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the server [<c>MYSQL_PORT</c>], 1..65535. Default 3306.</summary>
    [ConfigurationKeyName("MYSQL_PORT")]
    public int Port { get; set; } = 3306;

    /// <summary>User name to log in with [<c>MYSQL_USER</c>]. Default <c>root</c>.</summary>
    [ConfigurationKeyName("MYSQL_USER")]
    public string User { get; set; } = "root";

    /// <summary>Password of <see cref="User"/> [<c>MYSQL_PASSWORD</c>]. Default empty.</summary>
    [ConfigurationKeyName("MYSQL_PASSWORD")]
    public string Password { get; set; } = string.Empty;

    /// <summary>Database (schema) that holds the <c>Users</c> table [<c>MYSQL_DATABASE</c>]. Default <c>Main</c>.</summary>
    [ConfigurationKeyName("MYSQL_DATABASE")]
    public string Database { get; set; } = "Main";

    /// <summary>
    /// Largest number of open connections in the driver's pool [<c>MYSQL_MAX_POOL_SIZE</c>], 1..1000.
    /// Default <see cref="DefaultMaxPoolSize"/>. A request that finds every connection busy waits for
    /// one, up to <see cref="ConnectTimeoutSeconds"/>, and then answers 503.
    /// </summary>
    [ConfigurationKeyName("MYSQL_MAX_POOL_SIZE")]
    public int MaxPoolSize { get; set; } = DefaultMaxPoolSize;

    /// <summary>
    /// Default of <see cref="MaxPoolSize"/>: 16.
    /// </summary>
    /// <remarks>
    /// The driver is asynchronous, so a connection no longer costs a blocked thread, but every
    /// connection is a server thread. Measured with bench/api on 2 processors, database on the same
    /// machine, 64 HTTP connections on <c>GET /users/{id}</c>, pool sizes 4 to 64 side by side, four
    /// rounds (bench/api/README.md, "Pool size"): 4 was clearly slower (median 2,400 requests/s);
    /// 8, 16, 32 and 64 were within each other's run-to-run spread (medians 3,400 to 4,600, each
    /// varying by ±40 % on a machine that other work kept busy), with p99 no better beyond 16. 16
    /// keeps the server at 8 threads per processor here. A database far away holds each connection
    /// longer (throughput is at most connections / query time): raise <c>MYSQL_MAX_POOL_SIZE</c> then.
    /// </remarks>
    public const int DefaultMaxPoolSize = 16;

    /// <summary>
    /// Connections the pool keeps open even when idle [<c>MYSQL_MIN_POOL_SIZE</c>], 0..<see cref="MaxPoolSize"/>.
    /// Default 0: connections idle for 180 s are closed (the driver's <c>ConnectionIdleTimeout</c>).
    /// </summary>
    [ConfigurationKeyName("MYSQL_MIN_POOL_SIZE")]
    public int MinPoolSize { get; set; }

    /// <summary>
    /// Seconds allowed to open a connection, and to wait for a free one when the pool is exhausted
    /// [<c>MYSQL_CONNECT_TIMEOUT</c>], 1..300. Default 5.
    /// </summary>
    [ConfigurationKeyName("MYSQL_CONNECT_TIMEOUT")]
    public int ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Seconds allowed for one query [<c>MYSQL_COMMAND_TIMEOUT</c>], 1..3600. Default 30.</summary>
    [ConfigurationKeyName("MYSQL_COMMAND_TIMEOUT")]
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// TLS use [<c>MYSQL_SSL_MODE</c>], one of <see cref="SslModes"/> (any case): <c>None</c> (never),
    /// <c>Preferred</c> (when the server offers it; the default, as the driver's), <c>Required</c>
    /// (always, without checking the certificate), <c>VerifyCA</c> (certificate signed by a trusted CA,
    /// see <see cref="SslCa"/>), <c>VerifyFull</c> (and issued for <see cref="Host"/>).
    /// </summary>
    [ConfigurationKeyName("MYSQL_SSL_MODE")]
    public string SslMode { get; set; } = "Preferred";

    /// <summary>
    /// Path of a PEM file with the CA certificate(s) the server's certificate must chain to
    /// [<c>MYSQL_SSL_CA</c>], e.g. a managed database's CA bundle. Default empty: the system's trusted
    /// CAs. The file must exist at start-up.
    /// </summary>
    [ConfigurationKeyName("MYSQL_SSL_CA")]
    public string SslCa { get; set; } = string.Empty;

    /// <summary>
    /// Whether the driver may ask the server for its RSA public key to send the password
    /// [<c>MYSQL_ALLOW_PUBLIC_KEY_RETRIEVAL</c>], <c>true</c>/<c>false</c>. Default <c>false</c>. Needed
    /// to log in with MySQL 8's <c>caching_sha2_password</c> (or <c>sha256_password</c>) without TLS
    /// before the server has cached the password; a server impersonator could then read the
    /// password, so prefer TLS.
    /// </summary>
    [ConfigurationKeyName("MYSQL_ALLOW_PUBLIC_KEY_RETRIEVAL")]
    public bool AllowPublicKeyRetrieval { get; set; }

    /// <summary>
    /// Name of the connection pool [<c>MYSQL_POOL_NAME</c>]: the <c>pool_name</c> label of its figures
    /// on <c>/metrics</c>. Letters, digits, <c>.</c>, <c>_</c> and <c>-</c>, at most 64. Default
    /// <c>userapi</c>. Worth changing only to tell apart several services in one process (the tests do).
    /// </summary>
    [ConfigurationKeyName("MYSQL_POOL_NAME")]
    public string PoolName { get; set; } = "userapi";

    /// <summary>
    /// Checks the values. Returns one message per invalid value; an empty list when all are valid.
    /// </summary>
    /// <returns>Human-readable problems, each naming the environment variable to fix.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            problems.Add("MYSQL_HOST must not be empty");
        }

        if (Port is < 1 or > 65535)
        {
            problems.Add($"MYSQL_PORT must be 1..65535, got {Port}");
        }

        if (string.IsNullOrWhiteSpace(User))
        {
            problems.Add("MYSQL_USER must not be empty");
        }

        if (string.IsNullOrWhiteSpace(Database))
        {
            problems.Add("MYSQL_DATABASE must not be empty");
        }

        if (MaxPoolSize is < 1 or > 1000)
        {
            problems.Add($"MYSQL_MAX_POOL_SIZE must be 1..1000, got {MaxPoolSize}");
        }

        if (MinPoolSize < 0 || MinPoolSize > Math.Max(MaxPoolSize, 0))
        {
            problems.Add($"MYSQL_MIN_POOL_SIZE must be 0..MYSQL_MAX_POOL_SIZE ({MaxPoolSize}), got {MinPoolSize}");
        }

        if (ConnectTimeoutSeconds is < 1 or > 300)
        {
            problems.Add($"MYSQL_CONNECT_TIMEOUT must be 1..300 seconds, got {ConnectTimeoutSeconds}");
        }

        if (CommandTimeoutSeconds is < 1 or > 3600)
        {
            problems.Add($"MYSQL_COMMAND_TIMEOUT must be 1..3600 seconds, got {CommandTimeoutSeconds}");
        }

        if (!TryParseSslMode(SslMode, out _))
        {
            problems.Add($"MYSQL_SSL_MODE must be one of {string.Join(", ", SslModes)}, got '{SslMode}'");
        }

        if (!string.IsNullOrEmpty(SslCa) && !File.Exists(SslCa))
        {
            problems.Add($"MYSQL_SSL_CA must name a readable CA certificate file, '{SslCa}' does not exist");
        }

        if (!IsValidPoolName(PoolName))
        {
            problems.Add($"MYSQL_POOL_NAME must be 1 to 64 letters, digits, '.', '_' or '-', got '{PoolName}'");
        }

        return problems;
    }

    /// <summary>
    /// Builds the MySqlConnector connection string for the service's <see cref="MySqlDataSource"/>.
    /// Call only after <see cref="Validate"/> found nothing.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Pooling: the driver's own pool (<c>Pooling=true</c>), at most <see cref="MaxPoolSize"/>
    /// connections; each request opens (takes) a connection and disposes (returns) it.
    /// </para>
    /// <para>
    /// <c>ConnectionReset=false</c>: by default MySqlConnector sends <c>COM_RESET_CONNECTION</c> (one
    /// round trip) every time a pooled connection is taken, so that it comes back as fresh as a new
    /// one; the reset also discards the connection's prepared statements, so each query is prepared
    /// again. Measured with bench/api's driver loop taking a pooled connection per query as the
    /// service does (64 workers, 2 processors, three alternating rounds): 5,500 to 7,600 queries/s
    /// without the reset, 1,700 to 2,800 with it. Without it a connection keeps what its last user left in the
    /// session: session and user variables (<c>SET</c>, <c>@x</c>), temporary tables, table locks
    /// and <c>GET_LOCK</c> locks, an open transaction if the caller neither committed nor rolled back
    /// (MySqlConnector rolls back a <c>MySqlTransaction</c> left open on close, but not a
    /// <c>START TRANSACTION</c> sent as text), <c>LAST_INSERT_ID()</c>, and the statements prepared on
    /// it. Safe here because this service is the pool's only user and runs only its own three
    /// read-only statements (<see cref="UserRepository"/>), in autocommit mode, none of which sets,
    /// creates or locks anything; a change of database would still be undone by the driver (it resets
    /// a connection whose database was changed). The statements it keeps are exactly the two
    /// prepared <c>Users</c> queries, which is the point. Anyone adding a statement that changes
    /// session state must turn the reset back on.
    /// </para>
    /// <para>
    /// <c>IgnorePrepare=false</c>: <c>MySqlCommand.Prepare</c> makes a server-side prepared statement,
    /// cached per connection by the driver, so each query is executed with one
    /// <c>COM_STMT_EXECUTE</c> and the server does not parse it again. <c>AutoEnlist=false</c>: the
    /// service never uses <c>System.Transactions</c>, so opening need not look for an ambient
    /// transaction. Text is always utf8mb4 with MySqlConnector.
    /// </para>
    /// </remarks>
    /// <returns>A connection string; it contains the password.</returns>
    public string BuildConnectionString()
    {
        _ = TryParseSslMode(SslMode, out var sslMode);
        var builder = new MySqlConnectionStringBuilder
        {
            Server = Host,
            Port = checked((uint)Port),
            UserID = User,
            Password = Password,
            Database = Database,
            Pooling = true,
            MaximumPoolSize = checked((uint)MaxPoolSize),
            MinimumPoolSize = checked((uint)MinPoolSize),
            ConnectionReset = false,
            IgnorePrepare = false,
            AutoEnlist = false,
            ConnectionTimeout = checked((uint)ConnectTimeoutSeconds),
            DefaultCommandTimeout = checked((uint)CommandTimeoutSeconds),
            SslMode = sslMode,
            AllowPublicKeyRetrieval = AllowPublicKeyRetrieval,
        };
        if (!string.IsNullOrEmpty(SslCa))
        {
            builder.SslCa = SslCa;
        }

        return builder.ConnectionString;
    }

    /// <summary>Whether <paramref name="name"/> is a valid <see cref="PoolName"/>.</summary>
    private static bool IsValidPoolName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Parses one of <see cref="SslModes"/>, ignoring case; digits and unknown names are refused.</summary>
    private static bool TryParseSslMode(string? value, out MySqlSslMode mode)
    {
        mode = MySqlSslMode.Preferred;
        var name = SslModes.FirstOrDefault(m => string.Equals(m, value?.Trim(), StringComparison.OrdinalIgnoreCase));
        return name is not null && Enum.TryParse(name, out mode);
    }
}
