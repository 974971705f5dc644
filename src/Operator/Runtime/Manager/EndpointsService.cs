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
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        if (BindAddress.TryParse(healthProbeBindAddress, out var health) && health is not null)
        {
            _health = await BindAsync("/healthz and /readyz", "--health-probe-bind-address", healthProbeBindAddress, health, routes =>
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
            _metrics = await BindAsync("/metrics", "--metrics-bind-address", metricsBindAddress, metricsAddress, routes =>
                routes.MapMetrics("/metrics", metrics.Registry), cancellationToken).ConfigureAwait(false);
            LogServing(logger, "/metrics", metricsBindAddress, _metrics.Port);
        }
    }

    private static async Task<EndpointServer> BindAsync(string what, string flag, string address, System.Net.IPEndPoint endpoint, Action<Microsoft.AspNetCore.Routing.IEndpointRouteBuilder> map, CancellationToken cancellationToken)
    {
        try
        {
            return await EndpointServer.StartAsync(endpoint, map, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            var reason = e.InnerException is System.Net.Sockets.SocketException socket ? socket.Message : e.Message;
            throw new EndpointBindException($"cannot serve {what} on {endpoint} ({flag} {address}): {reason}", e);
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
