using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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
/// <param name="metrics">What /metrics shows (prometheus-net's exporter over its registry).</param>
/// <param name="logger">Where the bound addresses are logged.</param>
public sealed partial class EndpointsService(string healthProbeBindAddress, string metricsBindAddress, ControllerManager manager, OperatorMetrics metrics, ILogger<EndpointsService> logger) : IHostedService, IAsyncDisposable
{
    private EndpointServer? _health;
    private EndpointServer? _metrics;

    /// <summary>Port of the health server, or null when off (tests bind port 0).</summary>
    public int? HealthPort => _health?.Port;

    /// <summary>Port of the metrics server, or null when off.</summary>
    public int? MetricsPort => _metrics?.Port;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (BindAddress.TryParse(healthProbeBindAddress, out var health) && health is not null)
        {
            _health = await EndpointServer.StartAsync(health, routes =>
            {
                routes.MapGet("/healthz", () => Results.Text("ok"));
                routes.MapGet("/readyz", () => manager.HasSynced
                    ? Results.Text("ok")
                    : Results.Text("informers have not synced yet", statusCode: StatusCodes.Status503ServiceUnavailable));
            }, cancellationToken).ConfigureAwait(false);
            LogServing(logger, "/healthz and /readyz", healthProbeBindAddress, _health.Port);
        }

        if (BindAddress.TryParse(metricsBindAddress, out var metricsAddress) && metricsAddress is not null)
        {
            _metrics = await EndpointServer.StartAsync(metricsAddress, routes =>
                routes.MapMetrics("/metrics", metrics.Registry), cancellationToken).ConfigureAwait(false);
            LogServing(logger, "/metrics", metricsBindAddress, _metrics.Port);
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
