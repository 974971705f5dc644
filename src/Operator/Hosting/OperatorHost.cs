using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using UserApiOperator.Controller;
using UserApiOperator.DesiredState;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Observability;
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
        builder.Services.AddSingleton<OperatorMetrics>();
        builder.Services.AddSingleton<IKubernetesClient>(s => new KubernetesClient(configuration, s.GetRequiredService<OperatorMetrics>()));
        builder.Services.AddSingleton<IEventRecorder>(s => new EventRecorder(
            s.GetRequiredService<IKubernetesClient>(),
            UserApiLabels.ManagedBy,
            Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName,
            s.GetRequiredService<TimeProvider>(),
            s.GetRequiredService<ILogger<EventRecorder>>()));
        builder.Services.AddSingleton<UserApiController>();
        builder.Services.AddSingleton(s => new OperatorService(
            s.GetRequiredService<IKubernetesClient>(),
            s.GetRequiredService<UserApiController>(),
            options,
            s.GetRequiredService<OperatorMetrics>(),
            options.LeaderElect
                ? new LeaderElector(
                    s.GetRequiredService<IKubernetesClient>(),
                    s.GetRequiredService<IEventRecorder>(),
                    LeaderElection(options, configuration),
                    s.GetRequiredService<ILogger<LeaderElector>>())
                : null,
            s.GetRequiredService<IHostApplicationLifetime>(),
            s.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<EndpointsService>();
        builder.Services.AddHostedService(s => s.GetRequiredService<EndpointsService>());
        builder.Services.AddHostedService(s => s.GetRequiredService<OperatorService>());
        return builder.Build();
    }

    /// <summary>
    /// Leader-election settings from the flags: the Lease namespace is <c>--leader-election-namespace</c>,
    /// else <c>$POD_NAMESPACE</c>, else the in-cluster namespace, else <c>default</c>; the identity is
    /// <c>$POD_NAME</c> (else the host name) plus a random suffix, unique even across restarts.
    /// </summary>
    public static LeaderElectionOptions LeaderElection(OperatorOptions options, KubernetesClientConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        var ns = options.LeaderElectionNamespace;
        if (ns is null && Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } podNamespace)
        {
            ns = podNamespace;
        }

        if (ns is null && KubernetesClientConfiguration.IsInCluster())
        {
            ns = configuration.Namespace;
        }

        var pod = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } podName ? podName : Environment.MachineName;
        return new LeaderElectionOptions
        {
            LeaseName = options.LeaderElectionId,
            Namespace = ns ?? "default",
            Identity = $"{pod}_{Guid.NewGuid():N}"[..(pod.Length + 9)],
            LeaseDuration = options.LeaderElectionTimings.Lease,
            RenewDeadline = options.LeaderElectionTimings.RenewDeadline,
            RetryPeriod = options.LeaderElectionTimings.Retry,
        };
    }

    /// <summary>Runs the operator until SIGTERM or Ctrl-C.</summary>
    /// <param name="args">Flags; see <see cref="OperatorOptions.Usage"/>.</param>
    /// <param name="stderr">Where one-line start-up errors go.</param>
    /// <returns>0 after a clean stop; 1 when the cluster configuration cannot be loaded or leadership was lost; 2 on a usage error.</returns>
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
        var service = host.Services.GetRequiredService<OperatorService>();
        await host.RunAsync().ConfigureAwait(false); // Disposes the host's services when it returns.
        return service.LeadershipLost ? 1 : 0;
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
