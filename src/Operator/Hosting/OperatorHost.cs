using System.Text.Json;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using UserApiOperator.Controllers;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Runtime.Builder;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.LeaderElection;
using UserApiOperator.Runtime.Manager;
using UserApiOperator.Runtime.Metrics;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Hosting;

/// <summary>
/// Builds the operator's host (the composition root): logging in the chosen format, KubernetesClient
/// with the request-metrics handler, the shared informer cache, the UserApi controller and what it
/// owns, leader election, the manager and the probe and metrics endpoints.
/// </summary>
public static class OperatorHost
{
    /// <summary>Time reconciles in flight get to finish after SIGTERM.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Name of the controller in metrics labels.</summary>
    public const string ControllerName = "userapi";

    /// <summary>Builds the host for <paramref name="options"/> against the cluster of <paramref name="configuration"/>.</summary>
    /// <param name="options">The parsed flags.</param>
    /// <param name="configuration">Where the API server is and how to authenticate (see <see cref="LoadConfiguration(string?, string?)"/>).</param>
    /// <param name="configureLogging">Additional logging set-up after the console logger (tests add a capturing provider).</param>
    public static IHost Build(OperatorOptions options, KubernetesClientConfiguration configuration, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        // The operator reads no settings files: without reload, the host starts no FileSystemWatcher
        // (an inotify thread) over the content root for appsettings*.json that never exist.
        var hostConfiguration = new ConfigurationManager();
        hostConfiguration["hostBuilder:reloadConfigOnChange"] = "false";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, Configuration = hostConfiguration });
        ConfigureLogging(builder.Logging, options);
        configureLogging?.Invoke(builder.Logging);
        var services = builder.Services;
        services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<OperatorMetrics>();
        services.AddSingleton(s => new RestClientMetricsHandler(s.GetRequiredService<OperatorMetrics>()));
        services.AddSingleton<IKubernetes>(s => new k8s.Kubernetes(
            configuration,
            new UserAgentHandler(UserApiLabels.ManagedBy, typeof(OperatorHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"),
            s.GetRequiredService<RestClientMetricsHandler>()));
        services.AddSingleton(s =>
        {
            var cache = new InformerCache(s.GetRequiredService<IKubernetes>(), new InformerOptions { Namespace = options.Namespace }, s.GetRequiredService<ILoggerFactory>());
            var metrics = s.GetRequiredService<OperatorMetrics>();
            var events = s.GetRequiredService<IEventRecorder>();
            cache.Undecodable += bad =>
            {
                metrics.ObjectUndecodable(bad.Kind);
                if (bad is { Name: not null, Namespace: not null })
                {
                    // A Warning Event on the object itself, so that kubectl describe shows why it is ignored.
                    var about = new ObjectIdentity { ApiVersion = bad.ApiVersion, Kind = bad.Kind, Metadata = new V1ObjectMeta { Name = bad.Name, NamespaceProperty = bad.Namespace, Uid = bad.Uid } };
                    _ = events.RecordAsync(about, EventTypes.Warning, "Undecodable", $"Ignored until fixed: {bad.Error}", CancellationToken.None);
                }
            };
            return cache;
        });
        services.AddSingleton<IEventRecorder>(s => new EventRecorder(
            s.GetRequiredService<IKubernetes>(),
            UserApiLabels.ManagedBy,
            Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName,
            s.GetRequiredService<TimeProvider>(),
            s.GetRequiredService<ILogger<EventRecorder>>()));
        services.AddSingleton<FirstReportTracker>();
        services.AddSingleton<UserApiController>();
        services.AddSingleton<IController>(s =>
            UserApiController.SetUpWatches(new ControllerBuilder<V1Alpha1UserApi>(s.GetRequiredService<InformerCache>(), s.GetRequiredService<OperatorMetrics>(), s.GetRequiredService<ILoggerFactory>()))
                .Complete(ControllerName, s.GetRequiredService<UserApiController>(), options.Controller));
        services.AddSingleton(s => options.LeaderElect
            ? new LeaseElector(
                s.GetRequiredService<IKubernetes>(),
                s.GetRequiredService<IEventRecorder>(),
                LeaderElection(options, configuration),
                s.GetRequiredService<ILogger<LeaseElector>>())
            : null!);
        services.AddSingleton(s => new ControllerManager(
            s.GetRequiredService<InformerCache>(),
            s.GetServices<IController>(),
            options.LeaderElect ? s.GetRequiredService<LeaseElector>() : null,
            s.GetRequiredService<OperatorMetrics>(),
            options.LeaderElectionId,
            s.GetRequiredService<IHostApplicationLifetime>(),
            s.GetRequiredService<ILogger<ControllerManager>>()));
        services.AddSingleton(s => new EndpointsService(
            options.HealthProbeBindAddress,
            options.MetricsBindAddress,
            s.GetRequiredService<ControllerManager>(),
            s.GetRequiredService<OperatorMetrics>(),
            s.GetRequiredService<ILogger<EndpointsService>>()));
        services.AddHostedService(s => s.GetRequiredService<EndpointsService>());
        services.AddHostedService(s => s.GetRequiredService<ControllerManager>());
        return builder.Build();
    }

    /// <summary>
    /// Where the API server is and how to authenticate, through KubernetesClient's configuration (files
    /// read by <see cref="KubeconfigFile"/>): the file
    /// named by <paramref name="kubeconfig"/>, else <c>$KUBECONFIG</c> (a list of files, merged as kubectl
    /// does: the first file to set a context, cluster or user wins), else <c>~/.kube/config</c>, else the
    /// in-cluster service account. Every kubeconfig form KubernetesClient supports works, exec
    /// credential plugins included; <paramref name="context"/> overrides <c>current-context</c>.
    /// </summary>
    /// <exception cref="KubeConfigException">The kubeconfig is unusable (no such file, not YAML of a kubeconfig's shape, no such context, no server, bad credentials).</exception>
    public static KubernetesClientConfiguration LoadConfiguration(string? kubeconfig, string? context) =>
        LoadConfiguration(kubeconfig, context, Environment.GetEnvironmentVariable("KUBECONFIG"));

    /// <summary><see cref="LoadConfiguration(string?, string?)"/> with <c>$KUBECONFIG</c> given (tests).</summary>
    internal static KubernetesClientConfiguration LoadConfiguration(string? kubeconfig, string? context, string? kubeconfigVariable)
    {
        if (kubeconfig is not null)
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(KubeconfigFile.Load(kubeconfig), context);
        }

        var paths = (kubeconfigVariable ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paths.Length == 1)
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(KubeconfigFile.Load(paths[0]), context);
        }

        if (paths.Length > 1)
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(Merge(paths.Where(File.Exists).Select(KubeconfigFile.Load)), context);
        }

        if (File.Exists(KubernetesClientConfiguration.KubeConfigDefaultLocation))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(KubeconfigFile.Load(KubernetesClientConfiguration.KubeConfigDefaultLocation), context);
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        throw new KubeConfigException($"no kubeconfig (--kubeconfig, $KUBECONFIG, {KubernetesClientConfiguration.KubeConfigDefaultLocation}) and not running in a cluster");
    }

    /// <summary>kubectl's merge of a <c>$KUBECONFIG</c> list: the first file to name a context, cluster or user, or to set current-context, wins.</summary>
    private static K8SConfiguration Merge(IEnumerable<K8SConfiguration> configs)
    {
        var merged = new K8SConfiguration { Contexts = [], Clusters = [], Users = [] };
        foreach (var config in configs)
        {
            merged.CurrentContext ??= string.IsNullOrEmpty(config.CurrentContext) ? null : config.CurrentContext;
            merged.FileName ??= config.FileName;
            merged.Contexts = merged.Contexts.Concat((config.Contexts ?? []).Where(c => merged.Contexts.All(m => m.Name != c.Name))).ToList();
            merged.Clusters = merged.Clusters.Concat((config.Clusters ?? []).Where(c => merged.Clusters.All(m => m.Name != c.Name))).ToList();
            merged.Users = merged.Users.Concat((config.Users ?? []).Where(c => merged.Users.All(m => m.Name != c.Name))).ToList();
        }

        return merged;
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
    /// <returns>0 after a clean stop; 1 when the cluster configuration cannot be loaded, a probe or metrics address cannot be bound, or leadership was lost; 2 on a usage error.</returns>
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
            configuration = LoadConfiguration(options.Kubeconfig, options.Context);
        }
        catch (Exception e) when (e is KubeConfigException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await stderr.WriteLineAsync($"userapi-operator: cannot load the cluster configuration: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using var host = Build(options, configuration);
        var manager = host.Services.GetRequiredService<ControllerManager>();
        try
        {
            // Bound before the host starts, so that a busy port is one line and exit code 1
            // (the host would log the failure with its stack trace).
            await host.Services.GetRequiredService<EndpointsService>().StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (EndpointBindException e)
        {
            await stderr.WriteLineAsync($"userapi-operator: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await host.RunAsync().ConfigureAwait(false); // Disposes the host's services when it returns.
        return manager.LeadershipLost ? 1 : 0;
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

    /// <summary>Just the identity of an object (what an Event's involvedObject needs), for an object that cannot be decoded whole.</summary>
    private sealed class ObjectIdentity : IKubernetesObject<V1ObjectMeta>
    {
        public string ApiVersion { get; set; } = "";

        public string Kind { get; set; } = "";

        public V1ObjectMeta Metadata { get; set; } = new();
    }
}
