using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KubeApiFake;

/// <summary>
/// An in-process fake Kubernetes API server on <c>http://127.0.0.1:&lt;random port&gt;</c> (Kestrel,
/// plain HTTP). It speaks the REST wire protocol (discovery, get, list, watch, create, update,
/// merge/json patch, server-side apply, status subresource, delete with garbage collection) over
/// generic JSON storage, and offers test controls: direct store access, a request log, fault
/// injection, watch dropping and history expiry.
/// </summary>
/// <example>
/// <code>
/// await using var api = await FakeKubeApiServer.StartAsync();
/// using var http = api.CreateClient();
/// var response = await http.GetAsync("/api/v1/namespaces/default/secrets/x"); // 404 Status
/// </code>
/// </example>
public sealed partial class FakeKubeApiServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ChangeSignal _signal = new();
    private readonly RequestLog _log;
    private readonly List<Exception> _errors = [];
    private WebApplication? _app;
    private long _latencyTicks;
    private int _disposed;

    private FakeKubeApiServer(FakeKubeApiServerOptions options)
    {
        Options = options;
        _log = new RequestLog(options.RequestLogLimit, _signal, options.RequestObserver);
        Store = new ResourceStore(options, _signal);
        ServiceAccountTokens = new ServiceAccountTokens(Store, options.ServiceAccountIssuer, options.TimeProvider);
        AccessControl = options.EnableAuthorization ? new AccessControl(Store, ServiceAccountTokens) : null;
        // Real time, not options.TimeProvider: clients check validity against their own clock.
        _tls = options.UseTls ? ServingCertificates.Create(DateTimeOffset.UtcNow, ServingAddresses(options), ServingNames(options)) : null;
    }

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Connections to the kubelets of Nodes, for Pod logs and exec.</summary>
    internal KubeletConnections Kubelets { get; } = new();

    /// <summary>The settings the server was started with.</summary>
    public FakeKubeApiServerOptions Options { get; }

    /// <summary>Direct access to stored objects, bypassing HTTP (see <see cref="ResourceStore"/>).</summary>
    public ResourceStore Store { get; }

    /// <summary>Fault injection (see <see cref="FailNext"/>).</summary>
    public FaultInjector Faults { get; } = new();

    /// <summary>Artificial delay added before every request is handled (watch streams: before they start). Default zero.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>
    /// Every answered request, oldest first (bounded by <see cref="FakeKubeApiServerOptions.RequestLogLimit"/>).
    /// A request is logged before its answer is sent (a watch once it is open, before its first event),
    /// so a client that has its answer finds its request here.
    /// </summary>
    public IReadOnlyList<RecordedRequest> Requests => _log.Snapshot();

    /// <summary>The requests that change state: neither GET nor watch.</summary>
    public IReadOnlyList<RecordedRequest> WriteRequests => _log.Snapshot().Where(r => r.IsWrite).ToList();

    /// <summary>
    /// Unexpected exceptions inside the fake itself (answered as 500 InternalError, or an aborted
    /// watch stream). Integration tests may assert this stays empty to tell fake bugs from client bugs.
    /// </summary>
    public IReadOnlyList<Exception> ServerErrors
    {
        get
        {
            lock (_errors) return [.. _errors];
        }
    }

    internal void RecordError(Exception error)
    {
        lock (_errors) _errors.Add(error);
    }

    /// <summary>Number of watch streams currently open (watchers are removed when their stream ends).</summary>
    public int ActiveWatchCount => Store.ActiveWatchCount;

    /// <summary>Starts a server on 127.0.0.1 with a free port.</summary>
    public static async Task<FakeKubeApiServer> StartAsync(FakeKubeApiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeKubeApiServer(options ?? new FakeKubeApiServerOptions());
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        _port = Options.Port == 0 && !AdvertisedAddress.Equals(IPAddress.Loopback) ? FreePortOnBothAddresses() : Options.Port;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            Listen(k);
            k.AddServerHeader = false;
            k.Limits.MinResponseDataRate = null;
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        UseTransportMiddleware(app);
        var handler = new ApiRequestHandler(this, Store, Faults, _log, _shutdown.Token);
        app.Run(handler.HandleAsync);
        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .OrderBy(a => a.Contains("//127.0.0.1:", StringComparison.Ordinal) ? 0 : 1).First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        if (Options.EmulateCluster)
        {
            Store.StartClusterControllers(new ResourceStore.ClusterIdentity(CertificateAuthorityPem, AdvertisedAddress, BaseAddress.Port));
        }
    }

    /// <summary>
    /// An <see cref="HttpClient"/> whose BaseAddress is this server; with
    /// <see cref="FakeKubeApiServerOptions.EnableAuthorization"/> on it sends <see cref="AdminToken"/>.
    /// </summary>
    public HttpClient CreateClient() => CreateClient(AccessControl?.Tokens.AdminToken);

    /// <summary>
    /// Server-side applies every document of <paramref name="yaml"/> over HTTP, as
    /// <c>kubectl apply --server-side --force-conflicts</c> does: each object's resource is found
    /// from its <c>apiVersion</c> and <c>kind</c> among the served types (a CRD applied earlier in the
    /// same stream counts), namespaced objects without a namespace go to <c>default</c>.
    /// </summary>
    /// <returns>The stored objects, in document order.</returns>
    /// <exception cref="InvalidOperationException">A kind is not served, or the server refused a document (its Status message is included).</exception>
    public async Task<IReadOnlyList<JsonObject>> ApplyAsync(string yaml, string fieldManager = "kubectl", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        using var http = CreateClient();
        var applied = new List<JsonObject>();
        foreach (var document in System.Text.RegularExpressions.Regex.Split(yaml, @"^---[ \t]*$", System.Text.RegularExpressions.RegexOptions.Multiline))
        {
            if (YamlToJson.Parse(document) is not JsonObject obj)
            {
                continue;
            }

            var apiVersion = JsonUtil.Str(obj["apiVersion"]);
            var kind = JsonUtil.Str(obj["kind"]);
            var type = Store.ResourceTypes.FirstOrDefault(t => t.ApiVersion == apiVersion && t.Kind == kind)
                ?? throw new InvalidOperationException($"{apiVersion} {kind} is not served by the fake API server.");
            var name = JsonUtil.Str(obj["metadata"]?["name"]);
            var ns = type.Namespaced ? JsonUtil.Str(obj["metadata"]?["namespace"]) ?? "default" : null;
            var prefix = type.Group.Length == 0 ? "/api/v1" : $"/apis/{type.Group}/{type.Version}";
            var path = $"{prefix}{(ns is null ? "" : $"/namespaces/{ns}")}/{type.Plural}/{name}?fieldManager={Uri.EscapeDataString(fieldManager)}&force=true";
            using var content = new StringContent(obj.ToJsonString(), System.Text.Encoding.UTF8);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/apply-patch+yaml");
            using var response = await http.PatchAsync(new Uri(path, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"apply {kind} {name}: {(int)response.StatusCode} {body}");
            }

            applied.Add(JsonNode.Parse(body)!.AsObject());
        }

        return applied;
    }

    /// <summary>
    /// A kubeconfig (YAML) pointing at this server: cluster/context/user <c>fake</c>, token
    /// <see cref="AdminToken"/> with <see cref="FakeKubeApiServerOptions.EnableAuthorization"/> on,
    /// otherwise <c>fake-token</c>.
    /// </summary>
    public string KubeconfigYaml(string @namespace = "default") => KubeconfigYaml(@namespace, AccessControl?.Tokens.AdminToken ?? "fake-token");

    /// <summary>A kubeconfig (YAML) pointing at this server whose user authenticates with <paramref name="token"/> (e.g. from <see cref="IssueServiceAccountToken"/>).</summary>
    /// <param name="namespace">The context's namespace.</param>
    /// <param name="token">The bearer token.</param>
    /// <returns>The kubeconfig text.</returns>
    public string KubeconfigYaml(string @namespace, string token) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {BaseAddress.GetLeftPart(UriPartial.Authority)}{CertificateAuthorityLine}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
                namespace: {@namespace}
            current-context: fake
            users:
            - name: fake
              user:
                token: {token}

            """);

    /// <summary>Serves an additional resource type (as a CRD would).</summary>
    public void RegisterResource(ResourceType type) => Store.RegisterResource(type);

    /// <summary>
    /// Answers the next <paramref name="count"/> requests matching <paramref name="match"/> (all when null)
    /// with <paramref name="statusCode"/> and a Status body (reason InternalError for 500).
    /// </summary>
    public void FailNext(int count, int statusCode = 500, Func<RecordedRequest, bool>? match = null) =>
        Faults.FailNext(count, statusCode, match);

    /// <summary>Aborts every open watch connection (the client sees the stream break, not a clean end).</summary>
    public void DropWatches() => Store.DropWatches();

    /// <summary>
    /// Ends every open watch cleanly and without a last event, as kube-apiserver does for a watch
    /// that did not allow bookmarks when its timeout runs out, or when it stops serving watches; a
    /// watch that saw no event since it began ends empty. Clients resume from their last resourceVersion.
    /// </summary>
    public void EndWatches() => Store.CompleteWatches();

    /// <summary>
    /// Ends every open watch as its <c>timeoutSeconds</c> running out would: one that allows bookmarks
    /// first gets a BOOKMARK with the current resourceVersion (kube-apiserver's watch cache sends it 2 s
    /// before the deadline, see <c>NextBookmarkTime</c>), then every stream ends cleanly.
    /// </summary>
    public void TimeOutWatches() => Store.TimeOutWatches();

    /// <summary>Forgets all past watch events: a watch from any older resourceVersion gets an in-stream 410 Expired ERROR.</summary>
    public void ExpireHistory() => Store.ExpireHistory();

    /// <summary>Empties the request log.</summary>
    public void ClearRequests() => _log.Clear();

    /// <summary>Waits until <paramref name="condition"/> holds; re-checked on every store change, request and watch open/close.</summary>
    /// <exception cref="TimeoutException">The condition did not hold in time.</exception>
    public Task WaitForAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return _signal.WaitAsync(() => condition() ? new object() : null, timeout, "condition", cancellationToken);
    }

    /// <summary>Waits for a logged request matching <paramref name="predicate"/> and returns it.</summary>
    /// <exception cref="TimeoutException">No such request in time.</exception>
    public Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return _signal.WaitAsync(() => _log.Snapshot().FirstOrDefault(predicate), timeout, "request", cancellationToken);
    }

    /// <summary>Waits until the object exists and satisfies <paramref name="predicate"/> (any state when null); returns a copy.</summary>
    /// <exception cref="TimeoutException">Not in time.</exception>
    public Task<JsonObject> WaitForObjectAsync(GroupVersionResource gvr, string? ns, string name, Func<JsonObject, bool>? predicate,
        TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _signal.WaitAsync(() => Store.Get(gvr, ns, name) is { } o && (predicate is null || predicate(o)) ? o : null,
            timeout, $"{gvr} {ns}/{name}", cancellationToken);

    /// <summary>Waits until the object no longer exists.</summary>
    /// <exception cref="TimeoutException">Still there after the timeout.</exception>
    public Task WaitForDeletionAsync(GroupVersionResource gvr, string? ns, string name, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _signal.WaitAsync(() => Store.Get(gvr, ns, name) is null ? new object() : null, timeout, $"deletion of {gvr} {ns}/{name}", cancellationToken);

    /// <summary>Ends open watches cleanly and stops Kestrel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _shutdown.CancelAsync().ConfigureAwait(false);
        Store.CompleteWatches();
        if (_app is not null)
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutdown timed out; disposal below still releases the port.
            }
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        _shutdown.Dispose();
        _tls?.Dispose();
        Kubelets.Dispose();
    }
}
