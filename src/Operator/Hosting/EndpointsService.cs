using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserApiOperator.Observability;

namespace UserApiOperator.Hosting;

/// <summary>
/// Serves the operational endpoints, as controller-runtime managers do: on the health probe address
/// <c>GET /healthz</c> (200 while the process runs) and <c>GET /readyz</c> (200 once every informer
/// has filled its cache, 503 before); on the metrics address <c>GET /metrics</c> in the Prometheus
/// text format. Either server is off when its address is <c>0</c>.
/// </summary>
/// <param name="options">The bind addresses.</param>
/// <param name="operatorService">Reports whether the caches are synced.</param>
/// <param name="metrics">What /metrics shows.</param>
/// <param name="logger">Where the bound addresses are logged.</param>
public sealed partial class EndpointsService(OperatorOptions options, OperatorService operatorService, OperatorMetrics metrics, ILogger<EndpointsService> logger) : IHostedService, IAsyncDisposable
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
        if (BindAddress.TryParse(options.HealthProbeBindAddress, out var health) && health is not null)
        {
            _health = await EndpointServer.StartAsync(health, routes =>
            {
                routes.MapGet("/healthz", () => Results.Text("ok"));
                routes.MapGet("/readyz", () => operatorService.Runtime.HasSynced
                    ? Results.Text("ok")
                    : Results.Text("informers have not synced yet", statusCode: StatusCodes.Status503ServiceUnavailable));
            }, cancellationToken).ConfigureAwait(false);
            LogServing(logger, "/healthz and /readyz", options.HealthProbeBindAddress, _health.Port);
        }

        if (BindAddress.TryParse(options.MetricsBindAddress, out var metricsAddress) && metricsAddress is not null)
        {
            _metrics = await EndpointServer.StartAsync(metricsAddress, routes =>
                routes.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8")), cancellationToken).ConfigureAwait(false);
            LogServing(logger, "/metrics", options.MetricsBindAddress, _metrics.Port);
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
