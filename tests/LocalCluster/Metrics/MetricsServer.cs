using System.Net;
using System.Text.Json.Nodes;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LocalCluster.Metrics;

/// <summary>
/// metrics-server's HTTP side for the local cluster: <see cref="MetricsApi"/> on
/// <c>/apis/metrics.k8s.io/...</c>, over plain HTTP on one address and port, where the API server
/// (started with <c>--metrics-backend ADDRESS:PORT</c>) proxies the aggregated group. Every other
/// path is a 404 Status. Answers with the Pods and Nodes of the caller's caches and the samples of
/// one <see cref="IResourceMetrics"/>.
/// </summary>
internal sealed class MetricsServer : IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Starts listening on <paramref name="endpoint"/>.</summary>
    /// <exception cref="IOException">The address or port cannot be bound.</exception>
    public static async Task<MetricsServer> StartAsync(IPEndPoint endpoint, IResourceMetrics source,
        Func<IReadOnlyList<V1Pod>> pods, Func<IReadOnlyList<V1Node>> nodes, CancellationToken ct)
    {
        var server = new MetricsServer();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endpoint);
            k.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            var answer = await MetricsApi.Handle(ctx.Request.Path.Value ?? "/", ctx.Request.Query["labelSelector"].FirstOrDefault(),
                source, pods(), nodes(), DateTimeOffset.UtcNow, ctx.RequestAborted);
            var (status, body) = answer ?? (404, new JsonObject
            {
                ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
                ["message"] = "the server could not find the requested resource", ["reason"] = "NotFound", ["code"] = 404,
            });
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
        });
        server._app = app;
        await app.StartAsync(ct);
        return server;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
