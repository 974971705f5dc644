using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using UserApiOperator.Runtime.Metrics;

namespace UserApiOperator.Runtime.Manager;

/// <summary>
/// Serves the operational endpoints, as controller-runtime managers do: on the health probe address
/// <c>GET /healthz</c> (200 while the process runs) and <c>GET /readyz</c> (200 once every informer
/// has filled its cache, 503 before); on the metrics address <c>GET /metrics</c> in the Prometheus
/// text format. Either server is off when its address is <c>0</c>.
/// </summary>
/// <param name="healthProbeBindAddress">Address of <c>/healthz</c> and <c>/readyz</c> (<c>:8081</c>, <c>host:port</c>, <c>0</c> for off).</param>
/// <param name="metricsBindAddress">Address of <c>/metrics</c>.</param>
/// <param name="manager">Reports whether the caches are synced.</param>
/// <param name="metrics">What /metrics shows: prometheus-net's registry in the Prometheus text format (0.0.4).</param>
/// <param name="logger">Where the bound addresses are logged.</param>
public sealed partial class EndpointsService(string healthProbeBindAddress, string metricsBindAddress, ControllerManager manager, OperatorMetrics metrics, ILogger<EndpointsService> logger) : IHostedService, IAsyncDisposable
{
    private EndpointServer? _health;
    private EndpointServer? _metrics;
    private int _started;

    /// <summary>Port of the health server, or null when off (tests bind port 0).</summary>
    public int? HealthPort => _health?.Port;

    /// <summary>Port of the metrics server, or null when off.</summary>
    public int? MetricsPort => _metrics?.Port;

    /// <summary>
    /// Binds and starts both servers. Runs once: the operator's entry point calls it before the host
    /// starts, so that a busy port ends the process with one line instead of a failed host; the
    /// host's own call is then a no-op.
    /// </summary>
    /// <exception cref="EndpointBindException">An address cannot be bound (in use, or not an address of this machine).</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return Task.CompletedTask;
        }

        if (BindAddress.TryParse(healthProbeBindAddress, out var health) && health is not null)
        {
            _health = Bind("/healthz and /readyz", "--health-probe-bind-address", healthProbeBindAddress, health, new Dictionary<string, EndpointHandler>(StringComparer.Ordinal)
            {
                ["/healthz"] = _ => ValueTask.FromResult(Ok),
                ["/readyz"] = _ => ValueTask.FromResult(manager.HasSynced ? Ok : NotSynced),
            });
            LogServing(logger, "/healthz and /readyz", healthProbeBindAddress, _health.Port);
        }

        if (BindAddress.TryParse(metricsBindAddress, out var metricsAddress) && metricsAddress is not null)
        {
            _metrics = Bind("/metrics", "--metrics-bind-address", metricsBindAddress, metricsAddress, new Dictionary<string, EndpointHandler>(StringComparer.Ordinal)
            {
                ["/metrics"] = ExportAsync,
            });
            LogServing(logger, "/metrics", metricsBindAddress, _metrics.Port);
        }

        return Task.CompletedTask;
    }

    private static readonly EndpointResponse Ok = EndpointResponse.Text("ok");

    private static readonly EndpointResponse NotSynced = EndpointResponse.Text("informers have not synced yet", 503);

    /// <summary>The registry in the Prometheus text format, as prometheus-net's own exporter writes it.</summary>
    private async ValueTask<EndpointResponse> ExportAsync(CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text, ExpositionFormat.PrometheusText, cancellationToken).ConfigureAwait(false);
        return new EndpointResponse(200, "text/plain; version=0.0.4; charset=utf-8", text.ToArray());
    }

    private static EndpointServer Bind(string what, string flag, string address, IPEndPoint endpoint, IReadOnlyDictionary<string, EndpointHandler> routes)
    {
        try
        {
            return EndpointServer.Start(endpoint, routes);
        }
        catch (SocketException e)
        {
            throw new EndpointBindException($"cannot serve {what} on {endpoint} ({flag} {address}): {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _health, null) is { } health)
        {
            await health.DisposeAsync().ConfigureAwait(false);
        }

        if (Interlocked.Exchange(ref _metrics, null) is { } metricsServer)
        {
            await metricsServer.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Serving {What} on {Address} (port {Port})")]
    private static partial void LogServing(ILogger logger, string what, string address, int port);
}

/// <summary>An operational endpoint's address cannot be bound; the message names the address and its flag.</summary>
/// <param name="message">One line for the user, e.g. <c>cannot serve /metrics on 127.0.0.1:8080 (--metrics-bind-address :8080): Address already in use</c>.</param>
/// <param name="inner">The bind failure.</param>
public sealed class EndpointBindException(string message, Exception inner) : Exception(message, inner);
