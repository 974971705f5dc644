using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using UserApiOperator.Controller;
using UserApiOperator.DesiredState;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Runtime;

namespace UserApiOperator.Hosting;

/// <summary>
/// Builds the operator's host (the composition root): logging in the chosen format, the
/// Kubernetes client, the Event recorder, the controller and <see cref="OperatorService"/>.
/// </summary>
public static class OperatorHost
{
    /// <summary>Time reconciles in flight get to finish after SIGTERM.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Builds the host for <paramref name="options"/> against the cluster of <paramref name="configuration"/>.</summary>
    /// <param name="options">The parsed flags.</param>
    /// <param name="configuration">Where the API server is and how to authenticate.</param>
    /// <param name="configureLogging">Additional logging set-up after the console logger (tests add a capturing provider).</param>
    public static IHost Build(OperatorOptions options, KubernetesClientConfiguration configuration, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        ConfigureLogging(builder.Logging, options);
        configureLogging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IKubernetesClient>(_ => new KubernetesClient(configuration));
        builder.Services.AddSingleton<IEventRecorder>(s => new EventRecorder(
            s.GetRequiredService<IKubernetesClient>(),
            UserApiLabels.ManagedBy,
            Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName,
            s.GetRequiredService<TimeProvider>(),
            s.GetRequiredService<ILogger<EventRecorder>>()));
        builder.Services.AddSingleton<UserApiController>();
        builder.Services.AddSingleton<OperatorService>();
        builder.Services.AddHostedService(s => s.GetRequiredService<OperatorService>());
        return builder.Build();
    }

    /// <summary>Runs the operator until SIGTERM or Ctrl-C.</summary>
    /// <param name="args">Flags; see <see cref="OperatorOptions.Usage"/>.</param>
    /// <param name="stderr">Where one-line start-up errors go.</param>
    /// <returns>0 after a clean stop; 1 when the cluster configuration cannot be loaded; 2 on a usage error.</returns>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (!OperatorOptions.TryParse(args, out var options, out var error))
        {
            await stderr.WriteLineAsync($"userapi-operator: {error} (see --help)").ConfigureAwait(false);
            return 2;
        }

        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubernetesClientConfiguration.BuildDefaultConfig(options.Kubeconfig, options.Context);
        }
        catch (KubeConfigException e)
        {
            await stderr.WriteLineAsync($"userapi-operator: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using var host = Build(options, configuration);
        await host.RunAsync().ConfigureAwait(false);
        return 0;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, OperatorOptions options)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(options.LogLevel);
        // The host's own lifecycle lines are useful; the rest of Microsoft.* is noise at Information.
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);
        if (options.JsonLogs)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.JsonWriterOptions = new JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    }
}
