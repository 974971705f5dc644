using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MySqlConnector;
using UserApiService.Data;
using UserApiService.Hosting;
using UserApiService.Tests.Infrastructure;

namespace UserApiService.Tests;

/// <summary>Settings from the environment / command line, listening address, connection string.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task Mysql_settings_bind_from_configuration_keys()
    {
        await using var app = UserApiApplication.Build(
        [
            "--urls=http://127.0.0.1:0", "--MYSQL_HOST=db.example", "--MYSQL_PORT=3307", "--MYSQL_USER=reader",
            "--MYSQL_PASSWORD=s3cr;et'", "--MYSQL_DATABASE=Other", "--MYSQL_MAX_POOL_SIZE=7",
        ]);
        var options = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        Assert.Equal("db.example", options.Host);
        Assert.Equal(3307, options.Port);
        Assert.Equal("reader", options.User);
        Assert.Equal("s3cr;et'", options.Password);
        Assert.Equal("Other", options.Database);
        Assert.Equal(7, options.MaxPoolSize);
        // The data source in DI is built from them.
        var dataSource = app.Services.GetRequiredService<MySqlDataSource>();
        var parsed = new MySqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal(("db.example", 3307u, "reader", "Other", 7u), (parsed.Server, parsed.Port, parsed.UserID, parsed.Database, parsed.MaximumPoolSize));
    }

    [Fact]
    public void Defaults_match_the_design()
    {
        var options = new DatabaseOptions();
        Assert.Equal(("127.0.0.1", 3306, "root", string.Empty, "Main"), (options.Host, options.Port, options.User, options.Password, options.Database));
        // Half the pool for /users streams, 256 KiB/s for their clients, /ready's answer within 1 s
        // (the probe's timeout is 2 s), and the pool_name label the README documents.
        Assert.Equal((16, 8, 262_144, 1000, "userapi"), (options.MaxPoolSize, options.EffectiveMaxStreams, options.StreamMinRate, options.ReadyTimeoutMilliseconds, options.PoolName));
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(16, 8)]
    [InlineData(1000, 500)]
    public void Streams_get_half_the_pool_rounded_up_unless_set(int maxPoolSize, int expectedStreams)
    {
        Assert.Equal(expectedStreams, new DatabaseOptions { MaxPoolSize = maxPoolSize }.EffectiveMaxStreams);
        Assert.Equal(maxPoolSize, new DatabaseOptions { MaxPoolSize = maxPoolSize, MaxStreams = maxPoolSize }.EffectiveMaxStreams);
    }

    [Fact]
    public async Task Stream_and_readiness_settings_bind_from_configuration_keys()
    {
        await using var app = UserApiApplication.Build(
        [
            "--urls=http://127.0.0.1:0", "--MYSQL_MAX_POOL_SIZE=10", "--MYSQL_MAX_STREAMS=3", "--MYSQL_STREAM_MIN_RATE=100000",
            "--MYSQL_READY_TIMEOUT_MS=1500", "--MYSQL_POOL_NAME=api-a", "--MYSQL_SSL_MODE=Required",
        ]);
        var options = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        Assert.Equal((3, 3, 100_000, 1500, "api-a"), (options.MaxStreams, options.EffectiveMaxStreams, options.StreamMinRate, options.ReadyTimeoutMilliseconds, options.PoolName));

        // The readiness pool: one connection, timeouts of the readiness timeout rounded up to whole
        // seconds, the same server, login and TLS as the request pool.
        var readiness = new MySqlConnectionStringBuilder(options.BuildReadinessConnectionString());
        Assert.Equal((1u, 0u, 2u, 2u), (readiness.MaximumPoolSize, readiness.MinimumPoolSize, readiness.ConnectionTimeout, readiness.DefaultCommandTimeout));
        var request = new MySqlConnectionStringBuilder(options.BuildConnectionString());
        Assert.Equal(
            (request.Server, request.Port, request.UserID, request.Password, request.Database, request.SslMode, request.ConnectionReset),
            (readiness.Server, readiness.Port, readiness.UserID, readiness.Password, readiness.Database, readiness.SslMode, readiness.ConnectionReset));
    }

    [Fact]
    public void Connection_string_uses_the_driver_pool_without_reset_and_keeps_the_password_intact()
    {
        var options = new DatabaseOptions
        {
            Host = "h", Port = 3310, User = "u", Password = "p;w'd=\"x", Database = "Main", MaxPoolSize = 9, MinPoolSize = 2,
            ConnectTimeoutSeconds = 3, CommandTimeoutSeconds = 40,
        };
        var parsed = new MySqlConnectionStringBuilder(options.BuildConnectionString());
        Assert.True(parsed.Pooling);
        Assert.Equal((9u, 2u), (parsed.MaximumPoolSize, parsed.MinimumPoolSize));
        // Reset off (see DatabaseOptions.BuildConnectionString); prepared statements honoured.
        Assert.False(parsed.ConnectionReset);
        Assert.False(parsed.IgnorePrepare);
        Assert.Equal((3u, 40u), (parsed.ConnectionTimeout, parsed.DefaultCommandTimeout));
        Assert.Equal("p;w'd=\"x", parsed.Password);
        Assert.Equal(("h", 3310u, "u", "Main"), (parsed.Server, parsed.Port, parsed.UserID, parsed.Database));
        // Defaults: TLS when offered, no public key retrieval, system CAs.
        Assert.Equal(MySqlSslMode.Preferred, parsed.SslMode);
        Assert.False(parsed.AllowPublicKeyRetrieval);
        Assert.Equal(string.Empty, parsed.SslCa);
    }

    [Fact]
    public async Task Tls_and_authentication_settings_reach_the_connection_string()
    {
        var ca = Path.GetTempFileName();
        try
        {
            await using var app = UserApiApplication.Build(
            [
                "--urls=http://127.0.0.1:0", "--MYSQL_SSL_MODE=verifyfull", $"--MYSQL_SSL_CA={ca}",
                "--MYSQL_ALLOW_PUBLIC_KEY_RETRIEVAL=true", "--MYSQL_CONNECT_TIMEOUT=7", "--MYSQL_COMMAND_TIMEOUT=9",
                "--MYSQL_MIN_POOL_SIZE=3",
            ]);
            var parsed = new MySqlConnectionStringBuilder(app.Services.GetRequiredService<MySqlDataSource>().ConnectionString);
            Assert.Equal(MySqlSslMode.VerifyFull, parsed.SslMode);
            Assert.Equal(ca, parsed.SslCa);
            Assert.True(parsed.AllowPublicKeyRetrieval);
            Assert.Equal((7u, 9u, 3u), (parsed.ConnectionTimeout, parsed.DefaultCommandTimeout, parsed.MinimumPoolSize));
        }
        finally
        {
            File.Delete(ca);
        }
    }

    [Theory]
    [InlineData("None", MySqlSslMode.None)]
    [InlineData("preferred", MySqlSslMode.Preferred)]
    [InlineData("REQUIRED", MySqlSslMode.Required)]
    [InlineData("VerifyCA", MySqlSslMode.VerifyCA)]
    [InlineData(" VerifyFull ", MySqlSslMode.VerifyFull)]
    public void Every_documented_ssl_mode_is_accepted(string value, MySqlSslMode expected)
    {
        var options = new DatabaseOptions { SslMode = value };
        Assert.Empty(options.Validate());
        Assert.Equal(expected, new MySqlConnectionStringBuilder(options.BuildConnectionString()).SslMode);
    }

    [Theory]
    [InlineData("--MYSQL_PORT=0", "MYSQL_PORT")]
    [InlineData("--MYSQL_PORT=70000", "MYSQL_PORT")]
    [InlineData("--MYSQL_HOST= ", "MYSQL_HOST")]
    [InlineData("--MYSQL_DATABASE=", "MYSQL_DATABASE")]
    [InlineData("--MYSQL_MAX_POOL_SIZE=0", "MYSQL_MAX_POOL_SIZE")]
    [InlineData("--MYSQL_MAX_POOL_SIZE=1001", "MYSQL_MAX_POOL_SIZE")]
    [InlineData("--MYSQL_MIN_POOL_SIZE=17", "MYSQL_MIN_POOL_SIZE")]
    [InlineData("--MYSQL_MIN_POOL_SIZE=-1", "MYSQL_MIN_POOL_SIZE")]
    [InlineData("--MYSQL_CONNECT_TIMEOUT=0", "MYSQL_CONNECT_TIMEOUT")]
    [InlineData("--MYSQL_COMMAND_TIMEOUT=0", "MYSQL_COMMAND_TIMEOUT")]
    [InlineData("--MYSQL_SSL_MODE=Disabled", "MYSQL_SSL_MODE")]
    [InlineData("--MYSQL_SSL_MODE=2", "MYSQL_SSL_MODE")]
    [InlineData("--MYSQL_SSL_CA=/nonexistent/ca.pem", "MYSQL_SSL_CA")]
    [InlineData("--MYSQL_MAX_STREAMS=0", "MYSQL_MAX_STREAMS")]
    [InlineData("--MYSQL_MAX_STREAMS=17", "MYSQL_MAX_STREAMS")] // more than the pool (16)
    [InlineData("--MYSQL_STREAM_MIN_RATE=239", "MYSQL_STREAM_MIN_RATE")]
    [InlineData("--MYSQL_STREAM_MIN_RATE=1000000001", "MYSQL_STREAM_MIN_RATE")]
    [InlineData("--MYSQL_READY_TIMEOUT_MS=99", "MYSQL_READY_TIMEOUT_MS")]
    [InlineData("--MYSQL_READY_TIMEOUT_MS=60001", "MYSQL_READY_TIMEOUT_MS")]
    [InlineData("--MYSQL_POOL_NAME=", "MYSQL_POOL_NAME")]
    [InlineData("--MYSQL_POOL_NAME=two words", "MYSQL_POOL_NAME")]
    public void Invalid_settings_stop_the_start_up_naming_the_variable(string argument, string variable)
    {
        var error = Assert.Throws<OptionsValidationException>(() => UserApiApplication.Build(["--urls=http://127.0.0.1:0", argument]));
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--MYSQL_ALLOW_PUBLIC_KEY_RETRIEVAL=maybe", "MYSQL_ALLOW_PUBLIC_KEY_RETRIEVAL")]
    [InlineData("--MYSQL_PORT=abc", "MYSQL_PORT")]
    [InlineData("--MYSQL_CONNECT_TIMEOUT=5s", "MYSQL_CONNECT_TIMEOUT")]
    [InlineData("--MYSQL_MAX_STREAMS=half", "MYSQL_MAX_STREAMS")]
    public void Unparsable_settings_stop_the_start_up_naming_the_variable(string argument, string variable)
    {
        // The configuration binder refuses these before validation; its message names the key.
        var error = Assert.Throws<InvalidOperationException>(() => UserApiApplication.Build(["--urls=http://127.0.0.1:0", argument]));
        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listens_on_0_0_0_0_port_8000_unless_urls_are_configured()
    {
        // Port 8000 is the machine's: one test process at a time uses it (two test runs side by side
        // would otherwise take it from each other).
        using var port8000 = await MachineWideLockAsync("userapi-tests-port-8000");

        // Nothing configured (an empty --urls counts as none, and masks an ASPNETCORE_URLS of the
        // environment the tests run in).
        string[] nothing = Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is null ? [] : ["--urls="];
        await using (var app = UserApiApplication.Build(nothing))
        {
            try
            {
                await app.StartAsync();
            }
            catch (IOException exception)
            {
                throw new Xunit.Sdk.XunitException($"port 8000 is taken by another program on this machine: {exception.Message}");
            }

            // The kernel's view: this process listens on every IPv4 address, port 8000 ...
            Assert.Contains(new IPEndPoint(IPAddress.Any, 8000), OwnListeningEndPoints());
            // ... and answers there, on loopback and on the machine's other addresses.
            foreach (var address in LocalIPv4Addresses())
            {
                await AssertAnswersAsync(new Uri($"http://{address}:8000/"));
            }

            await app.StopAsync();
        }

        // Configured: there, and not on port 8000.
        await using var configured = UserApiApplication.Build(["--urls=http://127.0.0.1:0"]);
        await configured.StartAsync();
        var bound = new Uri(configured.Urls.Single());
        Assert.Equal("127.0.0.1", bound.Host);
        await AssertAnswersAsync(bound);
        var listening = OwnListeningEndPoints();
        Assert.Contains(new IPEndPoint(IPAddress.Loopback, bound.Port), listening);
        Assert.DoesNotContain(listening, endPoint => endPoint.Port == 8000);
        await configured.StopAsync();
    }

    /// <summary>The IPv4 and IPv6 addresses and ports this process listens on (the kernel's tables and this process's file descriptors).</summary>
    private static List<IPEndPoint> OwnListeningEndPoints()
    {
        var own = KernelTcp.OwnSocketInodes();
        return KernelTcp.Sockets().Where(s => s.State == KernelTcp.Listen && own.Contains(s.Inode)).Select(s => s.Local).ToList();
    }

    /// <summary>127.0.0.1 and the IPv4 addresses of the machine's interfaces that are up.</summary>
    private static IEnumerable<IPAddress> LocalIPv4Addresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(nic => nic.OperationalStatus == OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .Where(address => address.AddressFamily == AddressFamily.InterNetwork)
            .Append(IPAddress.Loopback)
            .Distinct();

    private static async Task AssertAnswersAsync(Uri baseAddress)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync("/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Takes an exclusive lock on a file in the temporary directory, waiting while another process holds it.</summary>
    private static async Task<FileStream> MachineWideLockAsync(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), name + ".lock");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromMinutes(5))
            {
                await Task.Delay(100);
            }
        }
    }
}
