using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// <see cref="IKubernetesClient"/> over HTTP/1.1: one <see cref="HttpClient"/> and one
/// <see cref="SocketsHttpHandler"/> per instance (create one per process and share it; it is
/// thread-safe), JSON bodies in the wire format of <see cref="KubernetesJson.Options"/>, headers
/// <c>Accept: application/json</c> and <c>User-Agent: userapi-operator/&lt;version&gt;</c>.
/// Authentication and TLS come from the <see cref="KubernetesClientConfiguration"/>.
/// </summary>
public sealed class KubernetesClient : IKubernetesClient, IDisposable
{
    /// <summary>Objects per list page (<c>?limit=</c>).</summary>
    public const int ListPageSize = 500;

    /// <summary>Largest watch event line accepted, 16 MiB (objects are at most about 1.5 MiB in etcd); a longer line raises <see cref="InvalidDataException"/>.</summary>
    public const int MaxWatchLineBytes = 16 * 1024 * 1024;

    /// <summary>How long after the requested watch timeout the client gives up on a server that has not ended the stream.</summary>
    public static readonly TimeSpan WatchGracePeriod = TimeSpan.FromSeconds(60);

    private const int DefaultWatchSeconds = 3600;
    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");
    private static readonly MediaTypeHeaderValue ApplyPatchMediaType = new("application/apply-patch+yaml");
    private static readonly MediaTypeHeaderValue MergePatchMediaType = new("application/merge-patch+json");

    private readonly HttpClient _http;

    /// <summary>Creates a client for <paramref name="configuration"/>.</summary>
    /// <param name="configuration">Server, TLS and credentials.</param>
    /// <param name="observer">Receives every request's method, verb, resource, status code and duration (metrics); optional.</param>
    /// <param name="timeProvider">Clock for token-file refresh and durations; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="configuration"/> is null.</exception>
    public KubernetesClient(KubernetesClientConfiguration configuration, IKubernetesRequestObserver? observer = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Configuration = configuration;
        _http = new HttpClient(KubernetesHttp.CreateHandler(configuration, observer, timeProvider ?? TimeProvider.System), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // per request below: watches are long-lived
        };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", configuration.UserAgent);
    }

    /// <summary>The configuration this client was built with.</summary>
    public KubernetesClientConfiguration Configuration { get; }

    /// <inheritdoc />
    public Task<T?> GetAsync<T>(string name, string? @namespace, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        var entity = EntityMetadata.Of<T>();
        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.ItemPath(entity, @namespace, name));
        return SendAsync(HttpMethod.Get, "get", entity, null, @namespace, uri, null, cancellationToken, async (response, token) =>
            response.StatusCode == HttpStatusCode.NotFound
                ? default
                : await ReadSuccessAsync<T>(response, token).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<KubernetesList<T>> ListAsync<T>(string? @namespace, string? labelSelector, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        var entity = EntityMetadata.Of<T>();
        var path = KubernetesUrls.CollectionPath(entity, @namespace);
        var limit = ListPageSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var items = new List<T>();
        string? continueToken = null;
        while (true)
        {
            var uri = KubernetesUrls.Build(Configuration.Server, path, ("labelSelector", NullIfEmpty(labelSelector)), ("limit", limit), ("continue", continueToken));
            var page = await SendAsync(HttpMethod.Get, "list", entity, null, @namespace, uri, null, cancellationToken, ReadSuccessAsync<KubernetesList<T>>)
                .ConfigureAwait(false);
            items.AddRange(page.Items ?? []);
            continueToken = NullIfEmpty(page.Metadata?.Continue);
            if (continueToken is null)
            {
                page.Metadata ??= new V1ListMeta();
                page.Items = items;
                return page;
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(
        string? @namespace,
        string? labelSelector,
        string resourceVersion,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        bool allowBookmarks = true,
        int? timeoutSeconds = null)
        where T : IKubernetesObject
    {
        var entity = EntityMetadata.Of<T>();
        var uri = KubernetesUrls.Build(
            Configuration.Server,
            KubernetesUrls.CollectionPath(entity, @namespace),
            ("labelSelector", NullIfEmpty(labelSelector)),
            ("watch", "true"),
            ("resourceVersion", NullIfEmpty(resourceVersion)),
            ("allowWatchBookmarks", allowBookmarks ? "true" : null),
            ("timeoutSeconds", timeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var deadline = TimeSpan.FromSeconds(timeoutSeconds ?? DefaultWatchSeconds) + WatchGracePeriod;
        var watch = await WatchStream<T>.OpenAsync(this, entity, @namespace, uri, deadline, cancellationToken).ConfigureAwait(false);
        await using (watch.ConfigureAwait(false))
        {
            while (await watch.ReadNextAsync(cancellationToken).ConfigureAwait(false) is { } watchEvent)
            {
                yield return watchEvent;
            }
        }
    }

    /// <inheritdoc />
    public Task<T> ApplyAsync<T>(T obj, string fieldManager, bool force, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentException.ThrowIfNullOrEmpty(fieldManager);
        var entity = EntityMetadata.Of<T>();
        var name = obj.Metadata?.Name;
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException($"Server-side apply of a {entity.Kind} needs metadata.name.", nameof(obj));
        }

        var ns = obj.Metadata!.Namespace;
        var uri = KubernetesUrls.Build(
            Configuration.Server,
            KubernetesUrls.ItemPath(entity, ns, name),
            ("fieldManager", fieldManager),
            ("force", force ? "true" : null));
        var body = Body(obj, entity, ApplyPatchMediaType);
        return SendAsync(HttpMethod.Patch, "apply", entity, null, ns, uri, body, cancellationToken, ReadSuccessAsync<T>);
    }

    /// <inheritdoc />
    public Task<T> CreateAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentException.ThrowIfNullOrEmpty(fieldManager);
        var entity = EntityMetadata.Of<T>();
        var ns = obj.Metadata?.Namespace;
        if (entity.Namespaced && string.IsNullOrEmpty(ns))
        {
            throw new ArgumentException($"{entity.Kind} is namespaced: metadata.namespace is required to create it.", nameof(obj));
        }

        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.CollectionPath(entity, ns), ("fieldManager", fieldManager));
        return SendAsync(HttpMethod.Post, "create", entity, null, ns, uri, Body(obj, entity, JsonMediaType), cancellationToken, ReadSuccessAsync<T>);
    }

    /// <inheritdoc />
    public Task<T> UpdateStatusAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject => PutAsync(obj, fieldManager, "status", cancellationToken);

    /// <inheritdoc />
    public Task<T> PatchStatusAsync<T>(string name, string? @namespace, JsonNode mergePatch, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(mergePatch);
        ArgumentException.ThrowIfNullOrEmpty(fieldManager);
        var entity = EntityMetadata.Of<T>();
        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.ItemPath(entity, @namespace, name, "status"), ("fieldManager", fieldManager));
        return SendAsync(HttpMethod.Patch, "patch", entity, "status", @namespace, uri, PatchBody(mergePatch), cancellationToken, ReadSuccessAsync<T>);
    }

    /// <inheritdoc />
    public Task<T> PatchAsync<T>(string name, string? @namespace, JsonNode mergePatch, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(mergePatch);
        var entity = EntityMetadata.Of<T>();
        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.ItemPath(entity, @namespace, name));
        return SendAsync(HttpMethod.Patch, "patch", entity, null, @namespace, uri, PatchBody(mergePatch), cancellationToken, ReadSuccessAsync<T>);
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync<T>(string name, string? @namespace, CancellationToken cancellationToken, string propagationPolicy = "Background")
        where T : IKubernetesObject
    {
        var entity = EntityMetadata.Of<T>();
        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.ItemPath(entity, @namespace, name), ("propagationPolicy", NullIfEmpty(propagationPolicy)));
        return SendAsync(HttpMethod.Delete, "delete", entity, null, @namespace, uri, null, cancellationToken, async (response, token) =>
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await KubernetesErrors.FromResponseAsync(response, token).ConfigureAwait(false);
            }

            return true;
        });
    }

    /// <inheritdoc />
    public Task<T> ReplaceAsync<T>(T obj, string fieldManager, CancellationToken cancellationToken)
        where T : IKubernetesObject => PutAsync(obj, fieldManager, null, cancellationToken);

    /// <summary>Closes pooled connections. Watches in progress fail with <see cref="ObjectDisposedException"/> or <see cref="IOException"/>.</summary>
    public void Dispose() => _http.Dispose();

    /// <summary><c>PUT</c> of the object or its <paramref name="subresource"/>, conditioned on its resource version.</summary>
    private Task<T> PutAsync<T>(T obj, string fieldManager, string? subresource, CancellationToken cancellationToken)
        where T : IKubernetesObject
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentException.ThrowIfNullOrEmpty(fieldManager);
        var entity = EntityMetadata.Of<T>();
        var metadata = obj.Metadata ?? throw new ArgumentException("The object has no metadata.", nameof(obj));
        if (string.IsNullOrEmpty(metadata.Name) || string.IsNullOrEmpty(metadata.ResourceVersion))
        {
            throw new ArgumentException(
                $"An update of {entity.Kind} \"{metadata.Name}\"{(subresource is null ? "" : $" {subresource}")} needs metadata.name and metadata.resourceVersion (optimistic concurrency).",
                nameof(obj));
        }

        var uri = KubernetesUrls.Build(Configuration.Server, KubernetesUrls.ItemPath(entity, metadata.Namespace, metadata.Name, subresource), ("fieldManager", fieldManager));
        return SendAsync(HttpMethod.Put, "update", entity, subresource, metadata.Namespace, uri, Body(obj, entity, JsonMediaType), cancellationToken, ReadSuccessAsync<T>);
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static ByteArrayContent Body<T>(T obj, KubernetesEntityAttribute entity, MediaTypeHeaderValue mediaType)
        where T : IKubernetesObject
    {
        // The runtime type, not T: an object passed as a base type must still send all its fields.
        var node = JsonSerializer.SerializeToNode(obj, obj.GetType(), KubernetesJson.Options) as JsonObject
            ?? throw new ArgumentException("The object did not serialise to a JSON object.", nameof(obj));
        node["apiVersion"] ??= entity.GroupVersion;
        node["kind"] ??= entity.Kind;
        return Content(JsonSerializer.SerializeToUtf8Bytes(node, KubernetesJson.Options), mediaType);
    }

    private static ByteArrayContent PatchBody(JsonNode mergePatch) =>
        Content(JsonSerializer.SerializeToUtf8Bytes(mergePatch, KubernetesJson.Options), MergePatchMediaType);

    private static ByteArrayContent Content(byte[] bytes, MediaTypeHeaderValue mediaType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = mediaType;
        return content;
    }

    private static async Task<T> ReadSuccessAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await KubernetesErrors.FromResponseAsync(response, cancellationToken).ConfigureAwait(false);
        }

        return await ReadBodyAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ReadBodyAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync<T>(stream, KubernetesJson.Options, cancellationToken).ConfigureAwait(false)
                    ?? throw new JsonException("The body is JSON null.");
            }
            catch (JsonException e)
            {
                throw new JsonException(
                    $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: the {(int)response.StatusCode} response is not a valid {typeof(T).Name}: {e.Message}",
                    e.Path,
                    e.LineNumber,
                    e.BytePositionInLine,
                    e);
            }
        }
    }

    /// <summary>Sends one request under <see cref="KubernetesClientConfiguration.RequestTimeout"/> and lets <paramref name="handle"/> read the response.</summary>
    private async Task<TResult> SendAsync<TResult>(
        HttpMethod method,
        string verb,
        KubernetesEntityAttribute entity,
        string? subresource,
        string? @namespace,
        Uri uri,
        HttpContent? content,
        CancellationToken cancellationToken,
        Func<HttpResponseMessage, CancellationToken, Task<TResult>> handle)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Configuration.RequestTimeout);
        using var request = CreateRequest(method, verb, entity, subresource, @namespace, uri, content);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            return await handle(response, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {uri} did not complete within {Configuration.RequestTimeout.TotalSeconds:0.###} s.", e);
        }
    }

    private static HttpRequestMessage CreateRequest(HttpMethod method, string verb, KubernetesEntityAttribute entity, string? subresource, string? @namespace, Uri uri, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Options.Set(KubernetesHttp.VerbKey, verb);
        request.Options.Set(KubernetesHttp.ResourceKey, subresource is null ? entity.PluralName : $"{entity.PluralName}/{subresource}");
        request.Options.Set(KubernetesHttp.NamespaceKey, entity.Namespaced ? NullIfEmpty(@namespace) : null);
        return request;
    }

    /// <summary>
    /// One open watch: the request, its response, a pipe over the body, and the deadline. Events
    /// are parsed straight from the pipe's buffers; memory per watch is bounded by the longest line.
    /// </summary>
    private sealed class WatchStream<T> : IAsyncDisposable
        where T : IKubernetesObject
    {
        private readonly HttpRequestMessage _request;
        private readonly HttpResponseMessage _response;
        private readonly PipeReader _reader;
        private readonly CancellationTokenSource _deadline;
        private readonly Uri _uri;
        private readonly TimeSpan _deadlineAfter;

        private WatchStream(HttpRequestMessage request, HttpResponseMessage response, PipeReader reader, CancellationTokenSource deadline, TimeSpan deadlineAfter)
        {
            _request = request;
            _response = response;
            _reader = reader;
            _deadline = deadline;
            _uri = request.RequestUri!;
            _deadlineAfter = deadlineAfter;
        }

        public static async Task<WatchStream<T>> OpenAsync(KubernetesClient client, KubernetesEntityAttribute entity, string? @namespace, Uri uri, TimeSpan deadlineAfter, CancellationToken cancellationToken)
        {
            var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            HttpRequestMessage? request = null;
            HttpResponseMessage? response = null;
            try
            {
                deadline.CancelAfter(client.Configuration.RequestTimeout);
                request = CreateRequest(HttpMethod.Get, "watch", entity, null, @namespace, uri, null);
                response = await client._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw await KubernetesErrors.FromResponseAsync(response, deadline.Token).ConfigureAwait(false);
                }

                var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
                deadline.CancelAfter(deadlineAfter);
                var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: false));
                return new WatchStream<T>(request, response, reader, deadline, deadlineAfter);
            }
            catch (Exception e)
            {
                response?.Dispose();
                request?.Dispose();
                var timedOut = deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
                deadline.Dispose();
                if (e is OperationCanceledException && timedOut)
                {
                    throw new TimeoutException($"GET {uri}: no response headers within {client.Configuration.RequestTimeout.TotalSeconds:0.###} s.", e);
                }

                throw;
            }
        }

        /// <summary>The next event, or null when the server ended the stream.</summary>
        public async ValueTask<WatchEvent<T>?> ReadNextAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    var result = await _reader.ReadAsync(_deadline.Token).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    while (TryReadLine(ref buffer, out var line))
                    {
                        if (IsBlank(line))
                        {
                            continue;
                        }

                        var watchEvent = Parse(line);
                        _reader.AdvanceTo(buffer.Start);
                        return watchEvent.Type == WatchEventType.Error
                            ? throw KubernetesErrors.FromStatus(watchEvent.Status?.Code ?? 500, watchEvent.Status, "GET", _uri)
                            : watchEvent;
                    }

                    if (buffer.Length > MaxWatchLineBytes)
                    {
                        throw new InvalidDataException($"GET {_uri}: a watch event is longer than {MaxWatchLineBytes} bytes.");
                    }

                    if (result.IsCompleted)
                    {
                        var truncated = !IsBlank(buffer);
                        _reader.AdvanceTo(buffer.End);
                        return truncated
                            ? throw new IOException($"GET {_uri}: the watch stream ended in the middle of an event.")
                            : null;
                    }

                    _reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && _deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"GET {_uri}: the server did not end the watch within {_deadlineAfter.TotalSeconds:0} s.", e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _reader.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                _response.Dispose();
                _request.Dispose();
                _deadline.Dispose();
            }
        }

        private WatchEvent<T> Parse(ReadOnlySequence<byte> line)
        {
            try
            {
                var reader = new Utf8JsonReader(line);
                return JsonSerializer.Deserialize<WatchEvent<T>>(ref reader, KubernetesJson.Options)
                    ?? throw new JsonException("The event is JSON null.");
            }
            catch (JsonException e)
            {
                throw new JsonException($"GET {_uri}: a watch event is not valid: {e.Message}", e.Path, e.LineNumber, e.BytePositionInLine, e);
            }
        }

        private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
        {
            if (buffer.PositionOf((byte)'\n') is not { } newline)
            {
                line = default;
                return false;
            }

            line = buffer.Slice(0, newline);
            buffer = buffer.Slice(buffer.GetPosition(1, newline));
            return true;
        }

        private static bool IsBlank(ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes)
            {
                foreach (var b in segment.Span)
                {
                    if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t' or (byte)'\n'))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }
}
