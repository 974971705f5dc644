using MySqlConnector;

namespace UserApiService.Data;

/// <summary>
/// Where and how the service reaches MySQL or MariaDB, and how long requests may hold its connections.
/// Bound from configuration, so every property can be set by an environment variable (the key in
/// brackets) or a <c>--KEY=value</c> command-line argument. <see cref="Validate"/> runs at start-up: an invalid value stops the service with a
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
    /// [<c>MYSQL_CONNECT_TIMEOUT</c>], 1..300. Default 5. A <c>GET /users</c> also waits up to this
    /// long for a stream slot (<see cref="MaxStreams"/>).
    /// </summary>
    [ConfigurationKeyName("MYSQL_CONNECT_TIMEOUT")]
    public int ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>
    /// Seconds allowed for one query [<c>MYSQL_COMMAND_TIMEOUT</c>], 1..3600. Default 30. For a
    /// streamed <c>GET /users</c> the driver starts this timeout again at every row it is asked for
    /// (MySqlConnector's <c>ResetCommandTimeout</c>, <c>src/MySqlConnector/Core/ICancellableCommand.cs</c>),
    /// so a response whose client takes no bytes for that long has its query killed on the server;
    /// the pool connection itself is given back only when the response ends (see <see cref="StreamMinRate"/>).
    /// </summary>
    [ConfigurationKeyName("MYSQL_COMMAND_TIMEOUT")]
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// <c>GET /users</c> responses that may hold a pool connection at once [<c>MYSQL_MAX_STREAMS</c>],
    /// 1..<see cref="MaxPoolSize"/>. Default (unset): half of <see cref="MaxPoolSize"/>, rounded up
    /// (8 of 16); see <see cref="EffectiveMaxStreams"/>.
    /// </summary>
    /// <remarks>
    /// A <c>/users</c> response holds its connection until its client has taken the last row, which a
    /// slow client makes last long; <c>/users/{id}</c> holds one for a single query. Without a bound,
    /// as many slow <c>/users</c> clients as the pool has connections leave <c>/users/{id}</c> nothing,
    /// and every such request waits <see cref="ConnectTimeoutSeconds"/> and answers 503. With it, at
    /// least <c>MaxPoolSize - MaxStreams</c> connections stay for <c>/users/{id}</c>. A <c>/users</c>
    /// request that finds every slot taken waits for one up to <see cref="ConnectTimeoutSeconds"/>, then
    /// answers 503 <c>{"detail":"Too many concurrent /users requests"}</c> with <c>Retry-After: 1</c>,
    /// before its response starts. Measured with bench/api (README there, "Stream slots").
    /// </remarks>
    [ConfigurationKeyName("MYSQL_MAX_STREAMS")]
    public int? MaxStreams { get; set; }

    /// <summary>The stream limit in force: <see cref="MaxStreams"/>, or half of <see cref="MaxPoolSize"/> rounded up when unset.</summary>
    public int EffectiveMaxStreams => MaxStreams ?? Math.Max(1, (MaxPoolSize + 1) / 2);

    /// <summary>
    /// Bytes per second at which a <c>GET /users</c> client must take its response
    /// [<c>MYSQL_STREAM_MIN_RATE</c>], <see cref="MinStreamMinRate"/>..1,000,000,000. Default
    /// <see cref="DefaultStreamMinRate"/>. Averaged over the response after a grace period of
    /// <see cref="StreamMinRateGracePeriod"/>; a client that falls below it has its connection closed,
    /// which ends the response (the JSON array is left unterminated) and gives the pool connection back.
    /// </summary>
    /// <remarks>
    /// Kestrel's per-request minimum response data rate (<c>IHttpMinResponseDataRateFeature</c>): a
    /// write may take up to the grace period or its size at this rate, whichever is longer, and the
    /// allowances of consecutive writes add up (Kestrel's <c>TimeoutControl.BytesWrittenToBuffer</c>).
    /// So a client that stops reading is cut off after roughly what the kernel and Kestrel buffered
    /// for it divided by this rate, and no sooner than the grace period. Kestrel's own default, 240
    /// bytes/s, lets a client that stopped reading after 4 MB of socket buffers hold its connection
    /// for hours. See <see cref="DefaultStreamMinRate"/> for the measurements behind the default. Not
    /// applied to HTTP/2 and HTTP/3 requests, where Kestrel supports only the connection-wide limit.
    /// </remarks>
    [ConfigurationKeyName("MYSQL_STREAM_MIN_RATE")]
    public int StreamMinRate { get; set; } = DefaultStreamMinRate;

    /// <summary>Least accepted <see cref="StreamMinRate"/>: Kestrel's own default, 240 bytes/s.</summary>
    public const int MinStreamMinRate = 240;

    /// <summary>Default of <see cref="StreamMinRate"/>: 262,144 bytes/s (256 KiB/s, 2 Mbit/s).</summary>
    /// <remarks>
    /// Measured on loopback (bench/api/slow-clients.sh; bench/api/README.md, "Slow clients"), four
    /// clients that read a kilobyte of a 10.7 MB <c>/users</c> response and stop, until the pool had
    /// their connections back: 240 bytes/s (Kestrel's default) more than 120 s (hours by the rule
    /// above: the kernel buffered about 4 MB for each), 64 KiB/s 69 s, 256 KiB/s 22 s, 1 MiB/s 11 s
    /// (there the grace, counted from the last write the kernel took, dominates). 256 KiB/s is the
    /// lowest of these that gives the connection back before <see cref="CommandTimeoutSeconds"/>'
    /// default 30 s would have the driver kill the stalled query anyway, even with loopback's large
    /// buffers; on a real network a stalled client gets far less buffered and is cut off after about
    /// the grace period. A client needs 2 Mbit/s on average, and less for a response the grace period
    /// covers (735 KB, the 10,000 users of bench/api, in 5 s: 147 KB/s); the ingress controller in
    /// front of the service reads faster than that.
    /// </remarks>
    public const int DefaultStreamMinRate = 256 * 1024;

    /// <summary>Time at the start of a <c>GET /users</c> response during which <see cref="StreamMinRate"/> is not enforced: 5 s, as Kestrel's default.</summary>
    public static readonly TimeSpan StreamMinRateGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Milliseconds <c>GET /ready</c> waits for the database to answer before it answers 503
    /// [<c>MYSQL_READY_TIMEOUT_MS</c>], 100..60000. Default 1000.
    /// </summary>
    /// <remarks>
    /// The readiness check runs <c>SELECT 1</c> over a connection of its own (a pool of one,
    /// <see cref="BuildReadinessConnectionString"/>), so requests that hold every connection of the
    /// request pool cannot make the Pod unready while the database answers. The default answers well
    /// within the 2 s that the operator gives the kubelet's readiness probe (<c>timeoutSeconds: 2</c>),
    /// so a slow database gives a 503 rather than a probe timeout.
    /// </remarks>
    [ConfigurationKeyName("MYSQL_READY_TIMEOUT_MS")]
    public int ReadyTimeoutMilliseconds { get; set; } = 1000;

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
    /// Name of the request pool [<c>MYSQL_POOL_NAME</c>]: the <c>pool_name</c> label of its figures
    /// on <c>/metrics</c>; the readiness check's own pool is named <c>&lt;name&gt;-ready</c>. Letters,
    /// digits, <c>.</c>, <c>_</c> and <c>-</c>, at most 64. Default <c>userapi</c>. Worth changing only
    /// to tell apart several services in one process (the tests do).
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

        if (MaxStreams is { } streams && (streams < 1 || streams > Math.Max(MaxPoolSize, 1)))
        {
            problems.Add($"MYSQL_MAX_STREAMS must be 1..MYSQL_MAX_POOL_SIZE ({MaxPoolSize}), got {streams}");
        }

        if (StreamMinRate is < MinStreamMinRate or > 1_000_000_000)
        {
            problems.Add($"MYSQL_STREAM_MIN_RATE must be {MinStreamMinRate}..1000000000 bytes per second, got {StreamMinRate}");
        }

        if (ReadyTimeoutMilliseconds is < 100 or > 60_000)
        {
            problems.Add($"MYSQL_READY_TIMEOUT_MS must be 100..60000 milliseconds, got {ReadyTimeoutMilliseconds}");
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
    public string BuildConnectionString() =>
        Build(MaxPoolSize, MinPoolSize, ConnectTimeoutSeconds, CommandTimeoutSeconds).ConnectionString;

    /// <summary>
    /// Builds the connection string of the readiness check's own pool: the same server, login and TLS
    /// settings as <see cref="BuildConnectionString"/>, at most one connection, none kept when idle
    /// beyond the driver's 180 s (the probe's period keeps it open), and connect and command timeouts
    /// of <see cref="ReadyTimeoutMilliseconds"/> rounded up to whole seconds (the driver counts in
    /// seconds; the check also enforces the exact timeout itself). Call only after <see cref="Validate"/>
    /// found nothing.
    /// </summary>
    /// <returns>A connection string; it contains the password.</returns>
    public string BuildReadinessConnectionString()
    {
        var seconds = (ReadyTimeoutMilliseconds + 999) / 1000;
        return Build(maxPoolSize: 1, minPoolSize: 0, seconds, seconds).ConnectionString;
    }

    private MySqlConnectionStringBuilder Build(int maxPoolSize, int minPoolSize, int connectTimeoutSeconds, int commandTimeoutSeconds)
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
            MaximumPoolSize = checked((uint)maxPoolSize),
            MinimumPoolSize = checked((uint)minPoolSize),
            ConnectionReset = false,
            IgnorePrepare = false,
            AutoEnlist = false,
            ConnectionTimeout = checked((uint)connectTimeoutSeconds),
            DefaultCommandTimeout = checked((uint)commandTimeoutSeconds),
            SslMode = sslMode,
            AllowPublicKeyRetrieval = AllowPublicKeyRetrieval,
        };
        if (!string.IsNullOrEmpty(SslCa))
        {
            builder.SslCa = SslCa;
        }

        return builder;
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
