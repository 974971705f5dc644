using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using UserApiService.Hosting;

namespace UserApiService.Tests.Infrastructure;

/// <summary>
/// The real UserApi application (same composition as Program.cs) on Kestrel, 127.0.0.1, a free port,
/// with an <see cref="HttpClient"/> that talks to it over real HTTP. Each instance names its pool
/// (<c>MYSQL_POOL_NAME</c>) after itself, so that its pool figures on <c>/metrics</c> are its own: the
/// driver's meter is shared by every instance in the test process.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private static int s_instances;

    private readonly WebApplication _app;

    private ApiServer(WebApplication app, Uri baseAddress, string poolName)
    {
        _app = app;
        BaseAddress = baseAddress;
        PoolName = poolName;
        Client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Uri BaseAddress { get; }

    /// <summary>Client for <see cref="BaseAddress"/>; does not follow redirects.</summary>
    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The instance's request pool name: the <c>pool_name</c> label of its figures on <c>/metrics</c>.</summary>
    public string PoolName { get; }

    /// <summary>Starts the application against <paramref name="database"/>.</summary>
    /// <param name="database">The MariaDB instance.</param>
    /// <param name="databaseName">Value of MYSQL_DATABASE.</param>
    /// <param name="extraArguments">More <c>--KEY=value</c> settings.</param>
    public static async Task<ApiServer> StartAsync(MariaDbServer database, string databaseName = "Main", params string[] extraArguments)
    {
        var poolName = $"userapi-test-{Interlocked.Increment(ref s_instances).ToString(CultureInfo.InvariantCulture)}";
        string[] arguments =
        [
            "--urls=http://127.0.0.1:0",
            $"--MYSQL_POOL_NAME={poolName}",
            "--MYSQL_HOST=127.0.0.1",
            $"--MYSQL_PORT={database.Port}",
            "--MYSQL_USER=root",
            $"--MYSQL_PASSWORD={database.Password}",
            $"--MYSQL_DATABASE={databaseName}",
            "--Logging:LogLevel:Default=Warning",
            .. extraArguments,
        ];
        var app = UserApiApplication.Build(arguments);
        await app.StartAsync();
        var address = app.Urls.Single();
        var server = new ApiServer(app, new Uri(address), poolName);
        try
        {
            // As Kubernetes sends traffic: once the readiness probe passes (its first check opens the
            // readiness pool's connection, which counts as one of the server's connections).
            await Eventually.HoldsAsync("the new instance ready", async () =>
            {
                using var ready = await server.Client.GetAsync("/ready");
                return ready.StatusCode == HttpStatusCode.OK;
            });
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The lines of <c>GET /metrics</c>, read over HTTP.</summary>
    public async Task<string[]> MetricsAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics answered {(int)response.StatusCode}: {text}");
        return text.Split('\n');
    }

    /// <summary>
    /// The instance's pool figure <c>mysqlconnector_db_client_connections_usage</c> for
    /// <paramref name="state"/> (<c>used</c> or <c>idle</c>) on its <c>/metrics</c>; null while the
    /// series does not exist (before the pool's first connection).
    /// </summary>
    public async Task<double?> PoolConnectionsAsync(string state) =>
        PrometheusText.ValueOrNull(
            await MetricsAsync(), "mysqlconnector_db_client_connections_usage{", $"pool_name=\"{PoolName}\"", $"state=\"{state}\"");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
