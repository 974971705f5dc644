using System.Diagnostics;
using System.Globalization;
using System.Net;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LocalCluster.KubeletServer;

/// <summary>Where the kubelet's server listens and what it logs.</summary>
public sealed class KubeletServerOptions
{
    /// <summary>The kubelet's usual port (<c>--port</c>), reported in the Node's <c>status.daemonEndpoints.kubeletEndpoint.Port</c>.</summary>
    public const int DefaultPort = 10250;

    /// <summary>Address to listen on (the Node's InternalIP, or 127.0.0.1). Default 127.0.0.1.</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>Port; 0 picks a free one. Default 10250.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Called with one line per request (<c>GET /containerLogs/ns/pod/c 200 12.3ms</c>); null: nothing.</summary>
    public Action<string>? Log { get; set; }
}

/// <summary>
/// The kubelet's HTTP server for the API server's Pod subresources (pkg/kubelet/server/server.go):
/// <c>GET /containerLogs/{namespace}/{pod}/{container}</c> with <c>follow</c>, <c>previous</c>,
/// <c>tailLines</c> (or the older <c>tail</c>), <c>sinceSeconds</c>, <c>sinceTime</c>,
/// <c>timestamps</c> and <c>limitBytes</c> (<c>getContainerLogs</c>, then the kubelet's
/// <c>GetKubeletContainerLogs</c>: <see cref="ContainerLogLocator"/> and <see cref="ContainerLogReader"/>),
/// and <c>/exec/{namespace}/{pod}[/{uid}]/{container}?command=..&amp;input=1&amp;output=1&amp;error=1&amp;tty=1</c>
/// (<c>getExec</c>: the running container is found first, then the remote command protocol runs
/// the command through the <see cref="IContainerRuntime"/>; <see cref="RemoteCommandServer"/>), and
/// <c>/attach/...</c> with the same streams (the container's output from now on).
/// Errors are plain text with the kubelet's status codes and words. A real kubelet serves HTTPS and
/// authorises the API server's client certificate; this one serves plain HTTP, for an API server on
/// the same machine. SPDY and port-forward are not served.
/// </summary>
public sealed class KubeletServer : IAsyncDisposable
{
    private readonly IKubeletHost _host;
    private readonly IContainerRuntime _runtime;
    private readonly KubeletServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private int _disposed;

    private KubeletServer(IKubeletHost host, IContainerRuntime runtime, KubeletServerOptions options)
    {
        _host = host;
        _runtime = runtime;
        _options = options;
    }

    /// <summary>Where it listens (the port is the real one when 0 was asked for).</summary>
    public IPEndPoint Endpoint { get; private set; } = null!;

    /// <summary>Starts the server.</summary>
    /// <exception cref="IOException">The address or port cannot be bound.</exception>
    public static async Task<KubeletServer> StartAsync(IKubeletHost host, IContainerRuntime runtime, KubeletServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(runtime);
        var server = new KubeletServer(host, runtime, options ?? new KubeletServerOptions());
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(server._options.Address, server._options.Port);
            k.AddServerHeader = false;
            k.Limits.MinResponseDataRate = null;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        server._app = app;
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new IPEndPoint(server._options.Address, new Uri(address).Port);
        return server;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var parts = (ctx.Request.Path.Value ?? "/").Trim('/').Split('/');
            switch (parts)
            {
                case ["healthz"]:
                    await TextAsync(ctx, 200, "ok").ConfigureAwait(false);
                    break;
                case ["containerLogs", var ns, var pod, var container] when HttpMethods.IsGet(ctx.Request.Method):
                    await ContainerLogsAsync(ctx, ns, pod, container).ConfigureAwait(false);
                    break;
                case ["exec", var ns, var pod, var container]:
                    await ExecAsync(ctx, ns, pod, null, container).ConfigureAwait(false);
                    break;
                case ["exec", var ns, var pod, var uid, var container]:
                    await ExecAsync(ctx, ns, pod, uid, container).ConfigureAwait(false);
                    break;
                case ["attach", var ns, var pod, var container]:
                    await AttachAsync(ctx, ns, pod, null, container).ConfigureAwait(false);
                    break;
                case ["attach", var ns, var pod, var uid, var container]:
                    await AttachAsync(ctx, ns, pod, uid, container).ConfigureAwait(false);
                    break;
                default:
                    await TextAsync(ctx, 404, "404 page not found").ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // The client went away, or the server stops.
        }
        finally
        {
            _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString} {ctx.Response.StatusCode} {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0}ms"));
        }
    }

    /// <summary>server.go <c>getContainerLogs</c> with the kubelet's <c>GetKubeletContainerLogs</c>.</summary>
    private async Task ContainerLogsAsync(HttpContext ctx, string ns, string podName, string containerName)
    {
        var query = ctx.Request.Query;
        ContainerLogOptions options;
        bool previous;
        try
        {
            // The older "tail" parameter: a number, or "all" for everything.
            var tail = query["tailLines"].ToString();
            if (query["tail"].ToString() is { Length: > 0 } legacy) tail = legacy == "all" ? "" : legacy;
            previous = Bool(query["previous"]);
            var tailLines = Long(tail);
            var sinceSeconds = Long(query["sinceSeconds"]);
            var limitBytes = Long(query["limitBytes"]);
            DateTimeOffset? sinceTime = query["sinceTime"].ToString() is { Length: > 0 } since
                ? DateTimeOffset.Parse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
                : null;
            if (tailLines < 0 || limitBytes < 1 || sinceSeconds < 1 || (sinceSeconds is not null && sinceTime is not null))
            {
                await TextAsync(ctx, 422, "{\"message\": \"Invalid request.\"}").ConfigureAwait(false);
                return;
            }
            options = ContainerLogOptions.From(tailLines, sinceSeconds, sinceTime, limitBytes, Bool(query["follow"]), Bool(query["timestamps"]), DateTimeOffset.UtcNow);
        }
        catch (FormatException)
        {
            await TextAsync(ctx, 400, "{\"message\": \"Unable to decode query.\"}").ConfigureAwait(false);
            return;
        }

        if (_host.GetPodByName(ns, podName) is not { } pod)
        {
            await TextAsync(ctx, 404, $"pod \"{podName}\" does not exist").ConfigureAwait(false);
            return;
        }
        if (!HasContainer(pod, containerName))
        {
            await TextAsync(ctx, 404, $"container \"{containerName}\" not found in pod \"{podName}\"").ConfigureAwait(false);
            return;
        }

        string containerId;
        try
        {
            containerId = ContainerLogLocator.ContainerIdFor(pod, containerName, previous);
        }
        catch (ArgumentException e)
        {
            await TextAsync(ctx, 400, e.Message).ConfigureAwait(false);
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        var status = await _runtime.GetContainerStatusAsync(containerId, stop.Token).ConfigureAwait(false);
        var path = status?.LogPath ?? ContainerLogLocator.LogPathByLayout(_host.PodLogsRoot, pod, containerName, containerId);
        if (path is null || !File.Exists(path))
        {
            await TextAsync(ctx, 400, path is null ? $"unable to retrieve container logs for {containerId}" : $"failed to open log file \"{path}\": no such file or directory").ConfigureAwait(false);
            return;
        }

        // The kubelet's first, empty write: the headers go out before the first line, so a follow of a
        // silent container is answered at once.
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.StartAsync(stop.Token).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
        try
        {
            await ContainerLogReader.ReadAsync(path, options,
                async ct => (await _runtime.GetContainerStatusAsync(containerId, ct).ConfigureAwait(false))?.Running ?? false,
                ctx.Response.Body, stop.Token).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client went away, or the file did mid-read: the stream just ends.
        }
    }

    /// <summary>server.go <c>getExec</c>: the kubelet's <c>GetExec</c> finds the running container, then the stream is served.</summary>
    private async Task ExecAsync(HttpContext ctx, string ns, string podName, string? uid, string containerName)
    {
        if (await StreamTargetAsync(ctx, ns, podName, uid, containerName).ConfigureAwait(false) is not var (options, protocol, containerId, _, _))
        {
            return;
        }
        var command = ctx.Request.Query["command"].Select(c => c ?? "").ToList();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        await RemoteCommandServer.ServeAsync(ctx, protocol, options,
            ct => _runtime.ExecAsync(containerId, new ExecRequest(command, options.Stdin, options.Tty), ct),
            "[" + string.Join(" ", command) + "]", stop.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// server.go <c>getAttach</c>: the container's output from now on, each stream on its channel, until
    /// the container stops. The containers here run with their output to the log only (no open stdin,
    /// no terminal), so attach follows the log file from its end, as the runtime's attach would relay
    /// the same output.
    /// </summary>
    private async Task AttachAsync(HttpContext ctx, string ns, string podName, string? uid, string containerName)
    {
        if (await StreamTargetAsync(ctx, ns, podName, uid, containerName).ConfigureAwait(false) is not var (options, protocol, containerId, pod, status))
        {
            return;
        }
        var path = status.LogPath ?? ContainerLogLocator.LogPathByLayout(_host.PodLogsRoot, pod, containerName, containerId);

        // "From now on" is where the log ends before the client is answered: what the container writes
        // once the client is attached reaches it.
        var start = path is not null && File.Exists(path) ? ContainerLogReader.EndOfLastLine(path) : -1;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        await RemoteCommandServer.ServeAttachAsync(ctx, protocol, options, async (stdout, stderr, ct) =>
        {
            if (path is null || start < 0) throw new IOException($"no log of container {containerId}");
            await ContainerLogReader.ReadAsync(path, new ContainerLogOptions(Tail: -1, DateTimeOffset.MinValue, LimitBytes: -1, Follow: true, Timestamps: false) { StartOffset = start },
                async c => (await _runtime.GetContainerStatusAsync(containerId, c).ConfigureAwait(false))?.Running ?? false,
                stdout, ct, stderr).ConfigureAwait(false);
        }, stop.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// What exec and attach share before the stream starts: the options, the Pod, its running container
    /// (kubelet_pods.go <c>GetExec</c>/<c>GetAttach</c> find only a running one: 500 <c>container not
    /// found ("c")</c> otherwise, which kubectl shows as <c>unable to upgrade connection: ...</c>), and a
    /// WebSocket subprotocol both sides speak. Null after answering the request with the refusal.
    /// </summary>
    private async Task<(RemoteCommandServer.StreamOptions Options, string Protocol, string ContainerId, V1Pod Pod, RuntimeContainerStatus Status)?> StreamTargetAsync(
        HttpContext ctx, string ns, string podName, string? uid, string containerName)
    {
        if (RemoteCommandServer.ParseOptions(ctx.Request.Query, out var error) is not { } options)
        {
            await TextAsync(ctx, 400, error).ConfigureAwait(false);
            return null;
        }
        if (_host.GetPodByName(ns, podName) is not { } pod || (uid is not null && uid != pod.Metadata.Uid))
        {
            await TextAsync(ctx, 404, "pod does not exist").ConfigureAwait(false);
            return null;
        }

        var running = (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? [])
            .FirstOrDefault(s => s.Name == containerName && s.State?.Running is not null && !string.IsNullOrEmpty(s.ContainerID));
        var containerId = running is null ? null : ContainerLogLocator.ParseContainerId(running.ContainerID);
        var status = containerId is null ? null : await _runtime.GetContainerStatusAsync(containerId, ctx.RequestAborted).ConfigureAwait(false);
        if (containerId is null || status is not { Running: true })
        {
            await TextAsync(ctx, 500, $"container not found (\"{containerName}\")").ConfigureAwait(false);
            return null;
        }

        if (!ctx.WebSockets.IsWebSocketRequest)
        {
            // httpstream.Handshake / the SPDY upgrader: a client that cannot speak WebSocket gets a plain refusal.
            var upgrade = ctx.Request.Headers.Upgrade.ToString();
            await TextAsync(ctx, 400, upgrade.Length == 0
                ? "unable to upgrade: missing upgrade headers in request"
                : $"unable to upgrade: {upgrade} is not served by this kubelet, which speaks the remote command protocol over WebSocket (v4.channel.k8s.io, v5.channel.k8s.io)").ConfigureAwait(false);
            return null;
        }
        if (RemoteCommandServer.Negotiate(ctx.WebSockets.WebSocketRequestedProtocols) is not { } protocol)
        {
            await TextAsync(ctx, 403, $"requested protocol(s) are not supported: [{string.Join(" ", ctx.WebSockets.WebSocketRequestedProtocols)}]; supports [{string.Join(" ", RemoteCommandServer.Protocols)}]").ConfigureAwait(false);
            return null;
        }
        return (options, protocol, containerId, pod, status);
    }

    private static bool HasContainer(V1Pod pod, string name) =>
        (pod.Spec?.Containers ?? []).Any(c => c.Name == name)
        || (pod.Spec?.InitContainers ?? []).Any(c => c.Name == name)
        || (pod.Spec?.EphemeralContainers ?? []).Any(c => c.Name == name);

    private static async Task TextAsync(HttpContext ctx, int code, string text)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(text, ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A boolean query value as Go's strconv.ParseBool reads it.</summary>
    private static bool Bool(string? value) => value switch
    {
        null or "" => false,
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => throw new FormatException(value),
    };

    private static long? Long(string? value) =>
        string.IsNullOrEmpty(value) ? null : long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <summary>Stops serving; open log streams and exec sessions end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }
}
