using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using KubeApiFake;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserApiOperator.Cli;
using UserApiOperator.Hosting;
using k8s;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// The real operator host, in process, against the fake API server over loopback HTTP, with the
/// generated CRD installed. Also plays the cluster's other actors (a user applying YAML, the
/// Deployment controller marking Pods ready).
/// </summary>
internal sealed class LiveOperator : IAsyncDisposable
{
    public static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly string _kubeconfig = Path.Combine(Path.GetTempPath(), $"live-operator-{Guid.NewGuid():N}.yaml");
    private readonly List<IHost> _replicas = [];
    private IHost? _host;

    private LiveOperator(FakeKubeApiServer api)
    {
        Api = api;
        File.WriteAllText(_kubeconfig, api.KubeconfigYaml());
    }

    public FakeKubeApiServer Api { get; }

    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Logs { get; } = new();

    /// <summary>The running host's services (ports of the endpoints, metrics).</summary>
    public IServiceProvider Services => _host?.Services ?? throw new InvalidOperationException("The operator is not running.");

    public OperatorOptions Options { get; private set; } = new();

    public static async Task<LiveOperator> StartAsync(OperatorOptions? options = null, bool startOperator = true)
    {
        var api = await FakeKubeApiServer.StartAsync();
        var live = new LiveOperator(api);
        await live.ApplyYamlAsync(CrdCommand.Render());
        if (startOperator)
        {
            await live.StartOperatorAsync(options ?? new OperatorOptions());
        }

        return live;
    }

    public async Task StartOperatorAsync(OperatorOptions options)
    {
        Options = options with
        {
            Kubeconfig = _kubeconfig,
            HealthProbeBindAddress = options.HealthProbeBindAddress == new OperatorOptions().HealthProbeBindAddress ? "127.0.0.1:0" : options.HealthProbeBindAddress,
            MetricsBindAddress = options.MetricsBindAddress == new OperatorOptions().MetricsBindAddress ? "127.0.0.1:0" : options.MetricsBindAddress,
        };
        var configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(_kubeconfig);
        _host = OperatorHost.Build(Options, configuration, logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Debug);
            logging.AddProvider(new CapturingLoggerProvider(Logs));
        });
        await _host.StartAsync();
    }

    /// <summary>Starts one more operator replica on the same API server; disposed with this object.</summary>
    public async Task<(IHost Host, ConcurrentQueue<(LogLevel Level, string Category, string Message)> Logs)> StartReplicaAsync(OperatorOptions options)
    {
        var logs = new ConcurrentQueue<(LogLevel, string, string)>();
        var host = OperatorHost.Build(
            options with { Kubeconfig = _kubeconfig, HealthProbeBindAddress = "127.0.0.1:0", MetricsBindAddress = "127.0.0.1:0" },
            KubernetesClientConfiguration.BuildConfigFromConfigFile(_kubeconfig),
            logging =>
            {
                logging.ClearProviders();
                logging.SetMinimumLevel(LogLevel.Debug);
                logging.AddProvider(new CapturingLoggerProvider(logs));
            });
        await host.StartAsync();
        _replicas.Add(host);
        return (host, logs);
    }

    public string KubeconfigPath => _kubeconfig;

    public async Task StopOperatorAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
            _host = null;
        }
    }

    /// <summary>Server-side applies every document of <paramref name="yaml"/> as kubectl does (field manager kubectl).</summary>
    public Task ApplyYamlAsync(string yaml) => Api.ApplyAsync(yaml);

    public Task ApplySampleAsync() => ApplyYamlAsync(File.ReadAllText(Repository.PathOf("config/samples/userapi.yaml")));

    public JsonObject? Get(GroupVersionResource resource, string name, string ns = "default") => Api.Store.Get(resource, ns, name);

    public Task<JsonObject> WaitForAsync(GroupVersionResource resource, string name, Func<JsonObject, bool> condition, string ns = "default") =>
        Api.WaitForObjectAsync(resource, ns, name, condition, Timeout);

    public Task<JsonObject> WaitForConditionAsync(string name, string type, string status, string ns = "default") =>
        WaitForAsync(UserApis, name, u => Condition(u, type)?["status"]?.GetValue<string>() == status, ns);

    /// <summary>
    /// Waits until the operator has reconciled the UserApi's current spec: its status reports the
    /// generation the object has now. What the operator does for a change, it has done by then.
    /// </summary>
    public Task<JsonObject> WaitObservedAsync(string name, string ns = "default") =>
        WaitForAsync(UserApis, name, u => u["status"]?["observedGeneration"]?.ToJsonString() == u["metadata"]!["generation"]!.ToJsonString(), ns);

    /// <summary>How many operator log lines start with <paramref name="prefix"/>.</summary>
    public int LogCount(string prefix) => Logs.Count(l => l.Message.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Waits until at least <paramref name="count"/> operator log lines start with <paramref name="prefix"/> (the log is polled: it does not wake the fake's waiters).</summary>
    public async Task WaitForLogCountAsync(string prefix, int count)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (LogCount(prefix) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} log lines \"{prefix}...\" within {Timeout.TotalSeconds:0} s");
            await Task.Delay(20);
        }
    }

    public static JsonNode? Condition(JsonObject userApi, string type) =>
        userApi["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == type);

    /// <summary>Plays the Deployment controller: every desired Pod runs the current template and is ready.</summary>
    public void MarkDeploymentAvailable(string name, string ns = "default") =>
        Api.Store.UpdateStatus(KnownResources.Deployments, ns, name, d =>
        {
            var replicas = int.Parse(d["spec"]!["replicas"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            d["status"] = new JsonObject
            {
                ["observedGeneration"] = long.Parse(d["metadata"]!["generation"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = replicas,
                ["availableReplicas"] = replicas,
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Available", ["status"] = "True", ["reason"] = "MinimumReplicasAvailable" }),
            };
        });

    public IReadOnlyList<JsonObject> Events(string ns = "default") => Api.Store.List(KnownResources.Events, ns);

    public async ValueTask DisposeAsync()
    {
        await StopOperatorAsync();
        foreach (var replica in _replicas)
        {
            await replica.StopAsync();
            replica.Dispose();
        }

        await Api.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<(LogLevel, string, string)> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);

        public void Dispose()
        {
        }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<(LogLevel, string, string)> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue((logLevel, category, formatter(state, exception)));
    }
}
