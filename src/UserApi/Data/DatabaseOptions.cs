using MySql.Data.MySqlClient;

namespace UserApiService.Data;

/// <summary>
/// Where and how the service reaches MySQL. Bound from configuration, so every property can be set
/// by an environment variable (the key in brackets) or a <c>--KEY=value</c> command-line argument.
/// </summary>
public sealed class DatabaseOptions
{
    /// <summary>Host name or IP address of the MySQL server [<c>MYSQL_HOST</c>]. Default <c>127.0.0.1</c>.</summary>
    [ConfigurationKeyName("MYSQL_HOST")]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the MySQL server [<c>MYSQL_PORT</c>], 1..65535. Default 3306.</summary>
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
    /// Largest number of open connections [<c>MYSQL_MAX_POOL_SIZE</c>], 1..1000. Default
    /// <see cref="DefaultMaxPoolSize"/>: 4 per processor, at least 8 and at most 32.
    /// It is the number of database operations allowed at once (see <see cref="DatabaseGate"/>), each on
    /// its own connection of the <see cref="ConnectionPool"/>.
    /// </summary>
    [ConfigurationKeyName("MYSQL_MAX_POOL_SIZE")]
    public int MaxPoolSize { get; set; } = DefaultMaxPoolSize;

    /// <summary>
    /// Default of <see cref="MaxPoolSize"/>: <c>4 × Environment.ProcessorCount</c>, clamped to 8..32
    /// (8 on 2 processors, 32 from 8 processors up).
    /// </summary>
    /// <remarks>
    /// Every database operation blocks a thread (see <see cref="DatabaseGate"/>), so the number allowed
    /// at once is really a number of threads per processor. Measured with bench/api on 2 processors,
    /// database on the same machine, 64 connections on <c>GET /users/{id}</c>: 8 slots gave the same
    /// throughput as 32 (about 12,000 requests/s) with half the p99 latency (11 ms instead of 20 ms);
    /// 16 slots were as slow as 32 at p99, 4 slots a little slower in throughput, 2 clearly slower.
    /// A database far away holds each slot longer (throughput is at most slots / query time): raise
    /// <c>MYSQL_MAX_POOL_SIZE</c> then.
    /// </remarks>
    public static int DefaultMaxPoolSize => Math.Clamp(4 * Environment.ProcessorCount, 8, 32);

    /// <summary>
    /// Seconds allowed to open a connection [<c>MYSQL_CONNECT_TIMEOUT</c>], 1..300. Default 5.
    /// Also bounds how long a request waits for a free slot of the <see cref="DatabaseGate"/>.
    /// </summary>
    [ConfigurationKeyName("MYSQL_CONNECT_TIMEOUT")]
    public int ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Seconds allowed for one query [<c>MYSQL_COMMAND_TIMEOUT</c>], 1..3600. Default 30.</summary>
    [ConfigurationKeyName("MYSQL_COMMAND_TIMEOUT")]
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// TLS use [<c>MYSQL_SSL_MODE</c>]: <c>None</c>, <c>Preferred</c>, <c>Required</c>, <c>VerifyCA</c> or
    /// <c>VerifyFull</c>. Default <c>Preferred</c> (TLS when the server offers it), the driver's own default.
    /// </summary>
    [ConfigurationKeyName("MYSQL_SSL_MODE")]
    public MySqlSslMode SslMode { get; set; } = MySqlSslMode.Preferred;

    /// <summary>
    /// Checks the values. Returns one message per invalid value; an empty list when all are valid.
    /// </summary>
    /// <returns>Human-readable problems, naming the environment variable to fix.</returns>
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

        if (ConnectTimeoutSeconds is < 1 or > 300)
        {
            problems.Add($"MYSQL_CONNECT_TIMEOUT must be 1..300 seconds, got {ConnectTimeoutSeconds}");
        }

        if (CommandTimeoutSeconds is < 1 or > 3600)
        {
            problems.Add($"MYSQL_COMMAND_TIMEOUT must be 1..3600 seconds, got {CommandTimeoutSeconds}");
        }

        return problems;
    }

    /// <summary>
    /// Builds the MySql.Data connection string: utf8mb4, the timeouts above, <c>Pooling=false</c> (the
    /// service keeps its connections open in its own <see cref="ConnectionPool"/>, at most
    /// <see cref="MaxPoolSize"/>, because MySql.Data's pool costs two extra round trips per <c>Open</c>)
    /// and <c>IgnorePrepare=false</c> (queries run as server-side prepared statements, see
    /// <see cref="PooledConnection"/>).
    /// </summary>
    /// <returns>A connection string for <see cref="MySqlConnection"/>; it contains the password.</returns>
    public string BuildConnectionString()
    {
        var builder = new MySqlConnectionStringBuilder
        {
            Server = Host,
            Port = checked((uint)Port),
            UserID = User,
            Password = Password,
            Database = Database,
            Pooling = false,
            // Honour MySqlCommand.Prepare(): server-side prepared statements (see PooledConnection).
            IgnorePrepare = false,
            ConnectionTimeout = checked((uint)ConnectTimeoutSeconds),
            DefaultCommandTimeout = checked((uint)CommandTimeoutSeconds),
            CharacterSet = "utf8mb4",
            SslMode = SslMode,
        };
        return builder.ConnectionString;
    }
}
