using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Prometheus;
using UserApiService.Data;
using UserApiService.Endpoints;
using UserApiService.Errors;
using UserApiService.Json;

namespace UserApiService.Hosting;

/// <summary>
/// Builds the UserApi web application: configuration, services, middleware and endpoints. Used by
/// <c>Program.cs</c> and by the tests, so both run exactly the same composition.
/// </summary>
/// <remarks>
/// <para>
/// Configuration: the usual ASP.NET Core sources (appsettings*.json next to the assembly, environment
/// variables, command line). <see cref="DatabaseOptions"/> is bound from the root, so <c>MYSQL_HOST</c>, <c>MYSQL_PORT</c>,
/// <c>MYSQL_USER</c>, <c>MYSQL_PASSWORD</c> and <c>MYSQL_DATABASE</c> work as environment variables or
/// as <c>--MYSQL_PORT=3307</c> arguments. Invalid values stop the start-up with a message naming them.
/// </para>
/// <para>
/// Listening: <see cref="DefaultUrls"/> unless <c>ASPNETCORE_URLS</c>, <c>--urls</c> or the
/// <c>urls</c> setting says otherwise.
/// </para>
/// <para>
/// Shutdown: the host's default handling of SIGTERM/SIGINT (Ctrl+C): stop accepting connections, let
/// requests in flight finish for up to <see cref="ShutdownTimeout"/>, then exit 0. The timeout is below
/// Kubernetes' default 30 s grace period so the process exits before it would be killed.
/// </para>
/// </remarks>
public static class UserApiApplication
{
    /// <summary>Listening address when none is configured: <c>http://0.0.0.0:8000</c>.</summary>
    public const string DefaultUrls = "http://0.0.0.0:8000";

    /// <summary>Default name of the database connection pool (<c>MYSQL_POOL_NAME</c>): the <c>pool_name</c> label of its metrics on <c>/metrics</c>.</summary>
    public const string PoolName = "userapi";

    /// <summary>Time requests in flight get to finish after SIGTERM: 25 s.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(25);

    /// <summary>Creates the application, ready to run.</summary>
    /// <param name="args">Command-line arguments (<c>--urls</c>, <c>--MYSQL_PORT=...</c>, ...).</param>
    /// <returns>The configured application; call <c>Run</c> or <c>StartAsync</c> on it.</returns>
    /// <exception cref="OptionsValidationException">A <c>MYSQL_*</c> setting is invalid.</exception>
    public static WebApplication Build(string[] args)
    {
        // Content root = the application's directory, so appsettings.json is found whatever the
        // working directory is.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        ConfigureServices(builder);
        var app = builder.Build();
        Configure(app);
        return app;
    }

    /// <summary>Registers options, JSON settings, the database layer and OpenAPI.</summary>
    /// <param name="builder">The application builder.</param>
    public static void ConfigureServices(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = ShutdownTimeout);

        // Read each request straight into a buffer: Kestrel's default first waits for data with a
        // zero-byte read, which costs one more syscall per request (5 to 10 % of /users/{id}
        // throughput in bench/api on 2 cores) to save a 4 KB buffer per idle connection.
        builder.WebHost.UseSockets(options => options.WaitForDataBeforeAllocatingBuffer = false);
        // Requests Kestrel rejects before routing (e.g. /users/%00) get a {"detail": ...} body too.
        builder.WebHost.ConfigureKestrel(options => options.UseJsonBodiesForRejectedRequests());

        builder.Services.AddOptions<DatabaseOptions>()
            .Bind(builder.Configuration)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        // The request pool: one data source for the whole application; disposed (pool closed) with the host.
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            return new MySqlDataSourceBuilder(options.BuildConnectionString())
                .UseLoggerFactory(services.GetRequiredService<ILoggerFactory>())
                // The pool_name label of the driver's metrics (otherwise the connection string).
                .UseName(options.PoolName)
                .Build();
        });
        builder.Services.AddSingleton<UserRepository>();
        // GET /ready's own pool of one connection, so that a busy request pool cannot fail the probe.
        builder.Services.AddSingleton<ReadinessCheck>();
        builder.Services.AddSingleton<ApplicationMetrics>();

        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            // Raw UTF-8 for every non-ASCII character, as FastAPI writes it.
            options.SerializerOptions.Encoder = FastApiJsonEncoder.Instance;
            // Numbers are numbers (the web default also reads them from strings, and OpenAPI says so).
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });

        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "UserApi";
                document.Info.Version = "1.0.0";
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(OpenApiUserIdParameter.TransformAsync);
        });
    }

    /// <summary>
    /// Adds the middleware and endpoints: FastAPI-shaped errors, <c>HEAD</c> as <c>GET</c>, Swagger UI
    /// at <c>/docs</c>, the OpenAPI document at <c>/openapi.json</c>, the API of
    /// <see cref="UserEndpoints"/>, and Prometheus metrics at <c>/metrics</c> from the application's own
    /// registry (<see cref="ApplicationMetrics"/>: HTTP requests by route template and status code with
    /// durations, MySqlConnector's pool figures as
    /// <c>mysqlconnector_db_client_connections_*{pool_name="userapi"}</c> and
    /// <c>{pool_name="userapi-ready"}</c>, .NET runtime figures; left out of the OpenAPI document).
    /// </summary>
    /// <param name="app">The built application.</param>
    public static void Configure(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Validate the settings now, so that Build fails (naming the variable) rather than the first request.
        _ = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        // Listen to the driver's meters before either pool opens a connection: the usage figures are
        // up-down counters, and changes made before the listener starts would be lost for good.
        var metrics = app.Services.GetRequiredService<ApplicationMetrics>();

        app.UseApiErrorResponses();
        app.UseHeadAsGet();
        app.UseSwaggerUI(options =>
        {
            options.RoutePrefix = "docs";
            options.DocumentTitle = "UserApi - Swagger UI";
            // Relative to /docs/index.html, so the UI also works behind an ingress path prefix.
            options.SwaggerEndpoint("../openapi.json", "UserApi");
        });
        app.UseRouting();
        app.UseCaseSensitiveRouting();
        // After routing, so that requests are labelled by route template (/users/{user_id}), not path.
        // Only the duration histogram: its _count is the request count by route and status code, so
        // prometheus-net's separate request counter would repeat it, and the in-progress gauge is one
        // more series update per request that nothing here reads.
        app.UseHttpMetrics(options =>
        {
            options.RequestCount.Enabled = false;
            options.InProgress.Enabled = false;
            options.SetMetricFactory(metrics.Factory);
        });

        app.MapOpenApi("/openapi.json");
        app.MapUserApi();
        app.MapMetrics("/metrics", metrics.Registry).ExcludeFromDescription();

        // Open the readiness connection as soon as the service listens, for the first probe.
        var readiness = app.Services.GetRequiredService<ReadinessCheck>();
        app.Lifetime.ApplicationStarted.Register(readiness.Prepare);
    }
}
