using Microsoft.AspNetCore.Builder;
using UserApiService.Hosting;

namespace UserApiService.Tests.Infrastructure;

/// <summary>
/// The real UserApi application (same composition as Program.cs) on Kestrel, 127.0.0.1, a free port,
/// with an <see cref="HttpClient"/> that talks to it over real HTTP.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
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

    /// <summary>Starts the application against <paramref name="database"/>.</summary>
    /// <param name="database">The MariaDB instance.</param>
    /// <param name="databaseName">Value of MYSQL_DATABASE.</param>
    /// <param name="extraArguments">More <c>--KEY=value</c> settings.</param>
    public static async Task<ApiServer> StartAsync(MariaDbServer database, string databaseName = "Main", params string[] extraArguments)
    {
        string[] arguments =
        [
            "--urls=http://127.0.0.1:0",
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
        return new ApiServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
