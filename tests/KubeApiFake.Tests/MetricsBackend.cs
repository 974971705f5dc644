using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Models;
using LocalCluster.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace KubeApiFake.Tests;

/// <summary>
/// A metrics-server stand-in on a loopback port (plain HTTP): <see cref="MetricsApi"/> over
/// <see cref="InMemoryResourceMetrics"/>, with the Pods and Nodes read at each request (from the
/// fake API server's store, as metrics-server reads them from its informers). It records the headers
/// of every request it gets, so tests see what the aggregator forwarded.
/// </summary>
internal sealed class MetricsBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private MetricsBackend(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The samples served; set them before asking.</summary>
    public InMemoryResourceMetrics Metrics { get; } = new();

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Every request received: path and query, and its headers.</summary>
    public ConcurrentQueue<(string Path, IHeaderDictionary Headers)> Received { get; } = new();

    /// <summary>A backend whose Pods and Nodes are those of <paramref name="api"/>'s store.</summary>
    public static Task<MetricsBackend> StartAsync(FakeKubeApiServer api) => StartAsync(() =>
        (api.Store.List(KnownResources.Pods).Select(p => KubernetesJson.Deserialize<V1Pod>(p.ToJsonString())).ToList(),
         api.Store.List(KnownResources.Nodes).Select(n => KubernetesJson.Deserialize<V1Node>(n.ToJsonString())).ToList()));

    /// <summary>A backend whose Pods and Nodes <paramref name="objects"/> gives at each request.</summary>
    public static async Task<MetricsBackend> StartAsync(Func<(List<V1Pod> Pods, List<V1Node> Nodes)> objects)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        MetricsBackend? backend = null;
        app.Run(async ctx =>
        {
            backend!.Received.Enqueue((ctx.Request.Path + ctx.Request.QueryString, new HeaderDictionary(ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value))));
            var (pods, nodes) = objects();
            var answer = await MetricsApi.Handle(ctx.Request.Path.Value ?? "/", ctx.Request.Query["labelSelector"].ToString(), backend.Metrics, pods, nodes,
                DateTimeOffset.UtcNow, ctx.RequestAborted);
            var (status, body) = answer ?? (404, new System.Text.Json.Nodes.JsonObject { ["kind"] = "Status", ["code"] = 404 });
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend = new MetricsBackend(app, new Uri(address).Port);
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>
    /// What a metrics-server installation registers, pointing at this backend: a Service
    /// <c>kube-system/metrics-server</c> (port 443 named https) without a selector, its Endpoints
    /// (127.0.0.1 and this port), and the APIService <c>v1beta1.metrics.k8s.io</c>.
    /// </summary>
    public string RegistrationYaml() => $$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: metrics-server
          namespace: kube-system
          labels: {k8s-app: metrics-server}
        spec:
          ports:
          - name: https
            port: 443
            targetPort: {{Port}}
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: metrics-server, namespace: kube-system}
        subsets:
        - addresses: [{ip: 127.0.0.1}]
          ports:
          - name: https
            port: {{Port}}
        ---
        apiVersion: apiregistration.k8s.io/v1
        kind: APIService
        metadata:
          name: v1beta1.metrics.k8s.io
          labels: {k8s-app: metrics-server}
        spec:
          group: metrics.k8s.io
          version: v1beta1
          groupPriorityMinimum: 100
          versionPriority: 100
          service: {name: metrics-server, namespace: kube-system}
        """;
}
