using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>Turns HTTP requests into store operations and Kubernetes-shaped responses (the single Kestrel endpoint).</summary>
internal sealed partial class ApiRequestHandler(
    FakeKubeApiServer server,
    ResourceStore store,
    FaultInjector faults,
    RequestLog log,
    CancellationToken shutdown)
{
    public async Task HandleAsync(HttpContext ctx)
    {
        var request = ctx.Request;
        var method = request.Method.ToUpperInvariant();
        var route = ApiRoute.Parse(request.Path.Value ?? "/");
        var isWatch = route.Kind == RouteKind.Resource && method == "GET"
                      && (route.LegacyWatch || request.Query["watch"].ToString() is "true" or "1");
        var podStream = IsPodStream(route);
        string? body = null;
        if (method is "POST" or "PUT" or "PATCH" or "DELETE" && !podStream)
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
        }
        var recorded = new RecordedRequest(method, request.Path.Value ?? "/", request.QueryString.Value?.TrimStart('?') ?? "",
            request.ContentType, 0, DateTimeOffset.UtcNow)
        {
            Body = string.IsNullOrEmpty(body) ? null : body,
            UserAgent = request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? ua : null,
            IsWatch = isWatch,
            Verb = route.Kind == RouteKind.Resource ? VerbOf(method, route, isWatch) : null,
        };

        var latency = server.Latency;
        if (latency > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(latency, ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (server.AccessControl is { } access)
        {
            var refused = access.Admit(ctx, out var user);
            recorded = recorded with { User = user };
            if (refused is not null)
            {
                log.Add(recorded with { StatusCode = refused.Code });
                await WriteJsonAsync(ctx, refused.Code, refused.ToStatus(), null).ConfigureAwait(false);
                return;
            }
        }

        if (faults.CutOffFor(recorded) is { } cutOff)
        {
            await CutOffAsync(ctx, cutOff).ConfigureAwait(false);
            log.Add(recorded);
            return;
        }

        if (faults.Take(recorded) is { } faultCode)
        {
            var reason = StatusResponses.ReasonFor(faultCode);
            var message = faultCode == 500
                ? "Internal error occurred: injected fault (fake API server)"
                : $"injected fault (fake API server): {reason}";
            if (faultCode == 429) ctx.Response.Headers.RetryAfter = "1";
            log.Add(recorded with { StatusCode = faultCode });
            await WriteJsonAsync(ctx, faultCode, StatusResponses.Failure(faultCode, reason, message, null), null).ConfigureAwait(false);
            return;
        }

        try
        {
            if (await TryProxyToApiServiceAsync(ctx, route, method, body, recorded).ConfigureAwait(false))
            {
                return;
            }
            if (AccessControl.UserOf(ctx) is { NodeName.Length: > 0 } node)
            {
                NodeRestriction.Admit(store, node, RequestAttributes.From(method, request.Path.Value ?? "/", request.QueryString.Value ?? ""), body);
            }
            if (podStream)
            {
                // An upgrade is logged when it is made (101), as a watch is when it starts; anything else once answered.
                if (!await ServePodStreamAsync(ctx, route, method, () => log.Add(recorded with { StatusCode = 101 })).ConfigureAwait(false))
                {
                    log.Add(recorded with { StatusCode = ctx.Response.StatusCode });
                }
                return;
            }
            if (isWatch)
            {
                await ServeWatchAsync(ctx, route, recorded).ConfigureAwait(false);
                return;
            }
            if (route.Kind == RouteKind.Health)
            {
                log.Add(recorded with { StatusCode = 200 });
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                await ctx.Response.WriteAsync("ok", ctx.RequestAborted).ConfigureAwait(false);
                return;
            }
            var (code, response, warnings) = Dispatch(ctx, route, method, body);
            response = AsTableIfAsked(ctx, route, method, code, response);
            log.Add(recorded with { StatusCode = code });
            await WriteJsonAsync(ctx, code, response, warnings).ConfigureAwait(false);
            return;
        }
        catch (KubeApiException e) when (!ctx.Response.HasStarted)
        {
            log.Add(recorded with { StatusCode = e.Code });
            await WriteJsonAsync(ctx, e.Code, e.ToStatus(), null).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug in the fake: answer 500 (or abort a started stream) and keep it for tests to see.
            server.RecordError(e);
            if (ctx.Response.HasStarted)
            {
                ctx.Abort();
                return;
            }
            log.Add(recorded with { StatusCode = 500 });
            await WriteJsonAsync(ctx, 500, StatusResponses.InternalError(e.Message).ToStatus(), null).ConfigureAwait(false);
        }
    }

    private static string VerbOf(string method, ApiRoute route, bool isWatch) => (method, route.Name) switch
    {
        ("GET", _) when isWatch => "watch",
        ("GET", null) => "list",
        ("GET", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", null) => "deletecollection",
        ("DELETE", _) => "delete",
        _ => method.ToLowerInvariant(),
    };

    private (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) Dispatch(HttpContext ctx, ApiRoute route, string method, string? body)
    {
        var types = store.ResourceTypes;
        switch (route.Kind)
        {
            case RouteKind.Version:
                return (200, Discovery.Version(server.Options.GitVersion), null);
            case RouteKind.ApiVersions:
                return (200, Discovery.ApiVersions($"{server.BaseAddress.Host}:{server.BaseAddress.Port}"), null);
            case RouteKind.GroupList:
                return (200, Discovery.GroupList(types, store.AggregatedApiServices()), null);
            case RouteKind.Group:
                return (200, Discovery.Group(types, route.Group) ?? Discovery.AggregatedGroup(store.AggregatedApiServices(), route.Group)
                    ?? throw StatusResponses.ResourceNotFound(), null);
            case RouteKind.ResourceList:
                return (200, Discovery.ResourceList(types, route.Group, route.Version) ?? throw StatusResponses.ResourceNotFound(), null);
            case RouteKind.OpenApiRoot:
                return (200, OpenApi.Root(types), null);
            case RouteKind.OpenApiDocument:
                return (200, OpenApi.Document(types, route.Group, route.Version) ?? throw StatusResponses.ResourceNotFound(), null);
            case RouteKind.Resource:
                break;
            default:
                throw StatusResponses.ResourceNotFound();
        }

        var rt = store.Resolve(route.Group, route.Version, route.Resource!) ?? throw StatusResponses.ResourceNotFound();
        if (rt.Namespaced ? route.Namespace is null && route.Name is not null : route.Namespace is not null)
        {
            throw StatusResponses.ResourceNotFound();
        }
        if (route.Subresource == "scale" && route.Name is not null && rt.Scale is { } scale)
        {
            return DispatchScale(ctx, rt, scale, route, method, body);
        }
        if (route is { Subresource: "token", Name: not null, Namespace: not null } && rt is { Group: "", Plural: "serviceaccounts" })
        {
            return method == "POST" ? CreateToken(route.Namespace, route.Name, body) : throw StatusResponses.MethodNotAllowed();
        }
        if (route is { Subresource: "eviction" or "binding", Name: not null, Namespace: not null } && rt is { Group: "", Plural: "pods" })
        {
            if (method != "POST") throw StatusResponses.MethodNotAllowed();
            return route.Subresource == "eviction" ? Evict(ctx, rt, route.Namespace, route.Name, body) : Bind(ctx, rt, route.Namespace, route.Name, body);
        }
        if (route.Subresource is not null && !(route.Subresource == "status" && rt.HasStatusSubresource))
        {
            throw StatusResponses.ResourceNotFound();
        }
        var query = ctx.Request.Query;
        var statusWrite = route.Subresource == "status";
        var ns = rt.Namespaced ? route.Namespace : null;

        if (route.Name is null)
        {
            switch (method)
            {
                case "GET":
                {
                    var limit = int.TryParse(query["limit"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : (int?)null;
                    return (200, store.ListForApi(rt, ns, Labels(query), Fields(query, rt), limit, query["continue"].ToString()), null);
                }
                case "POST":
                {
                    if (rt.Namespaced && ns is null) throw StatusResponses.MethodNotAllowed();
                    var o = WriteOptionsFor(ctx);
                    var (code, created) = store.Create(rt, ns, ParseObject(ctx, body), o);
                    return (code, created, o.Warnings);
                }
                case "DELETE":
                    return (200, store.DeleteCollection(rt, ns, Labels(query), Fields(query, rt), DeleteOptionsFor(ctx, body)), null);
                default:
                    throw StatusResponses.MethodNotAllowed();
            }
        }

        switch (method)
        {
            case "GET":
                return (200, store.GetForApi(rt, ns, route.Name), null);
            case "PUT":
            {
                var o = WriteOptionsFor(ctx);
                var (code, updated) = store.Replace(rt, ns, route.Name, ParseObject(ctx, body), o, statusWrite);
                return (code, updated, o.Warnings);
            }
            case "PATCH":
            {
                var o = WriteOptionsFor(ctx);
                var media = MediaType(ctx) ?? "";
                if (server.AccessControl is { } access && media == "application/apply-patch+yaml" && store.Get(rt.Gvr, ns, route.Name) is null)
                {
                    access.AuthorizeCreateOnPatch(ctx, rt, ns, route.Name, route.Subresource);
                }
                var (code, patched) = store.Patch(rt, ns, route.Name, media, body ?? "", o, statusWrite);
                return (code, patched, o.Warnings);
            }
            case "DELETE" when !statusWrite:
            {
                var (code, deleted) = store.Delete(rt, ns, route.Name, DeleteOptionsFor(ctx, body));
                return (code, deleted, null);
            }
            default:
                throw StatusResponses.MethodNotAllowed();
        }
    }

    private static LabelSelector Labels(IQueryCollection query)
    {
        try
        {
            return LabelSelector.Parse(query["labelSelector"].ToString());
        }
        catch (FormatException e)
        {
            throw StatusResponses.BadRequest(e.Message);
        }
    }

    private static FieldSelector Fields(IQueryCollection query, ResourceType rt)
    {
        try
        {
            return FieldSelector.Parse(query["fieldSelector"].ToString(), rt);
        }
        catch (FormatException e)
        {
            throw StatusResponses.BadRequest(e.Message);
        }
    }

    private static string? MediaType(HttpContext ctx)
    {
        var ct = ctx.Request.ContentType;
        if (string.IsNullOrWhiteSpace(ct)) return null;
        var semi = ct.IndexOf(';', StringComparison.Ordinal);
        return (semi >= 0 ? ct[..semi] : ct).Trim().ToLowerInvariant();
    }

    private static JsonObject ParseObject(HttpContext ctx, string? body)
    {
        var media = MediaType(ctx);
        JsonNode? node;
        try
        {
            switch (media)
            {
                case null or "application/json" or "*/*":
                    node = JsonNode.Parse(string.IsNullOrEmpty(body) ? "null" : body);
                    JsonUtil.Materialize(node);
                    break;
                case "application/yaml" or "application/x-yaml" or "text/yaml":
                    node = YamlToJson.Parse(body ?? "");
                    break;
                default:
                    throw StatusResponses.UnsupportedMediaType(media);
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw StatusResponses.BadRequest($"couldn't get version/kind; json parse error: {e.Message}");
        }
        return node as JsonObject ?? throw StatusResponses.BadRequest("the body of the request must be a JSON object");
    }

    private static WriteOptions WriteOptionsFor(HttpContext ctx)
    {
        var query = ctx.Request.Query;
        foreach (var value in query["dryRun"])
        {
            if (value != "All") throw StatusResponses.BadRequest($"dryRun: Unsupported value: \"{value}\": supported values: \"All\"");
        }
        var validation = query["fieldValidation"].ToString();
        if (validation.Length == 0) validation = "Warn";
        if (validation is not ("Strict" or "Warn" or "Ignore"))
        {
            throw StatusResponses.BadRequest($"fieldValidation: Unsupported value: \"{validation}\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
        }
        var manager = query["fieldManager"].ToString();
        var explicitManager = manager.Length > 0;
        if (!explicitManager)
        {
            var ua = ctx.Request.Headers.UserAgent.ToString();
            manager = ua.Length > 0 ? ua.Split('/')[0] : "unknown";
        }
        return new WriteOptions
        {
            Manager = manager,
            ExplicitManager = explicitManager,
            DryRun = query["dryRun"].Count > 0,
            Force = query["force"].ToString() == "true",
            FieldValidation = validation,
        };
    }

    private static DeleteOptions DeleteOptionsFor(HttpContext ctx, string? body)
    {
        JsonObject? options = null;
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                options = JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException e)
            {
                throw StatusResponses.BadRequest($"error decoding DeleteOptions: {e.Message}");
            }
        }
        return DeleteOptionsFrom(ctx.Request.Query, options);
    }

    /// <summary>
    /// DeleteOptions as the delete handler reads them (apiserver <c>endpoints/handlers/delete.go</c>):
    /// the query parameters first, then the body's fields where it has them.
    /// </summary>
    private static DeleteOptions DeleteOptionsFrom(IQueryCollection query, JsonObject? options)
    {
        var propagation = query["propagationPolicy"].ToString();
        var dryRun = query["dryRun"].Count > 0;
        if (query["orphanDependents"].ToString() == "true") propagation = "Orphan";
        long? grace = null;
        if (query["gracePeriodSeconds"].ToString() is { Length: > 0 } text)
        {
            grace = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
                ? seconds
                : throw StatusResponses.BadRequest($"strconv.ParseInt: parsing \"{text}\": invalid syntax");
        }
        string? uid = null;
        string? rv = null;
        if (options is not null)
        {
            if (JsonUtil.Str(options["propagationPolicy"]) is { } p) propagation = p;
            if (JsonUtil.IsTrue(options["orphanDependents"])) propagation = "Orphan";
            if (options["dryRun"] is JsonArray { Count: > 0 }) dryRun = true;
            if (JsonUtil.TryGetLong(options["gracePeriodSeconds"]) is { } seconds) grace = seconds;
            uid = JsonUtil.Str(options["preconditions"]?["uid"]);
            rv = JsonUtil.Str(options["preconditions"]?["resourceVersion"]);
        }
        if (propagation.Length == 0) propagation = "Background";
        if (propagation is not ("Background" or "Foreground" or "Orphan"))
        {
            throw StatusResponses.BadRequest($"propagationPolicy: Unsupported value: \"{propagation}\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
        }
        return new DeleteOptions(propagation, dryRun, uid, rv) { GracePeriodSeconds = grace };
    }

    /// <summary>
    /// When a watch that allows bookmarks gets its next BOOKMARK, or null for none: every
    /// <paramref name="interval"/>, and, for a watch with a deadline, 2 s before it (never after), so
    /// that a watch ended by its timeout tells the client the latest resourceVersion first.
    /// kube-apiserver's watch cache: staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go,
    /// <c>nextBookmarkTime</c> ("right before the watcher timeout - for now we simply set it 2s before
    /// the deadline ... this covers 99% of cases"). As there, none comes once that moment has passed,
    /// so a watch of less than 2 s gets no bookmark at all.
    /// </summary>
    internal static DateTime? NextBookmarkTime(DateTime now, TimeSpan interval, DateTime? deadline)
    {
        var next = now + interval;
        if (deadline is { } end)
        {
            var beforeDeadline = end - TimeSpan.FromSeconds(2);
            if (beforeDeadline < next) next = beforeDeadline;
        }
        return next < now ? null : next;
    }

    private async Task ServeWatchAsync(HttpContext ctx, ApiRoute route, RecordedRequest recorded)
    {
        var query = ctx.Request.Query;
        var rt = store.Resolve(route.Group, route.Version, route.Resource!) ?? throw StatusResponses.ResourceNotFound();
        if (rt.Namespaced ? route.Namespace is null && route.Name is not null : route.Namespace is not null)
        {
            throw StatusResponses.ResourceNotFound();
        }
        if (route.Subresource is not null) throw StatusResponses.ResourceNotFound();
        var labels = Labels(query);
        var fields = Fields(query, rt);
        if (route.Name is not null) fields = fields.And(FieldSelector.ForName(route.Name));
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        var sendInitial = query["sendInitialEvents"].ToString() == "true";
        TimeSpan? timeout = server.Options.DefaultWatchTimeout;
        if (long.TryParse(query["timeoutSeconds"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            timeout = TimeSpan.FromSeconds(seconds);
        }

        Watcher watcher;
        try
        {
            watcher = store.OpenWatch(rt, rt.Namespaced ? route.Namespace : null, labels, fields, query["resourceVersion"].ToString(), sendInitial, bookmarks);
        }
        catch (KubeApiException e) when (e.Code == 410)
        {
            // Like the real server: the watch is accepted (200), then one ERROR event carries the 410, then it closes.
            await StartStreamAsync(ctx).ConfigureAwait(false);
            await ctx.Response.Body.WriteAsync(Watcher.Line("ERROR", e.ToStatus()), ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            log.Add(recorded with { StatusCode = 200 });
            return;
        }

        watcher.Context = ctx;
        log.Add(recorded with { StatusCode = 200 });
        using var timeoutCts = new CancellationTokenSource();
        DateTime? deadline = null;
        if (timeout is { } t)
        {
            deadline = DateTime.UtcNow + t;
            timeoutCts.CancelAfter(t);
        }
        using var registration = faults.RegisterWatch(recorded);
        using var cutOffCts = new CancellationTokenSource();
        _ = registration.CutBy.Task.ContinueWith(
            _ =>
            {
                try
                {
                    cutOffCts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The stream already ended.
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, shutdown, watcher.DroppedToken, timeoutCts.Token, cutOffCts.Token);
        var token = linked.Token;
        var body = ctx.Response.Body;
        var interval = server.Options.BookmarkInterval;
        var asTable = WatchTableConverter(ctx, rt);
        try
        {
            await StartStreamAsync(ctx).ConfigureAwait(false);
            var nextBookmark = NextBookmarkTime(DateTime.UtcNow, interval, deadline);
            Task<bool>? pending = null;
            while (!token.IsCancellationRequested)
            {
                var wrote = false;
                while (watcher.Reader.TryRead(out var line))
                {
                    await body.WriteAsync(asTable is null ? line : asTable(line), ctx.RequestAborted).ConfigureAwait(false);
                    wrote = true;
                }
                if (wrote) await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                if (watcher.Reader.Completion.IsCompleted) break;
                pending ??= watcher.Reader.WaitToReadAsync(token).AsTask();
                if (bookmarks && nextBookmark is { } due)
                {
                    var delay = due - DateTime.UtcNow;
                    if (delay <= TimeSpan.Zero)
                    {
                        if (store.BookmarkVersion(watcher) is { } rv)
                        {
                            await body.WriteAsync(ResourceStore.BookmarkLine(rt, rv), ctx.RequestAborted).ConfigureAwait(false);
                            await body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                        }
                        nextBookmark = NextBookmarkTime(DateTime.UtcNow, interval, deadline);
                        continue;
                    }
                    var finished = await Task.WhenAny(pending, Task.Delay(delay, token)).ConfigureAwait(false);
                    if (finished != pending) continue;
                }
                if (!await pending.ConfigureAwait(false)) break;
                pending = null;
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, shutdown, client gone or dropped: end of stream.
        }
        catch (IOException)
        {
            // Connection reset while writing.
        }
        finally
        {
            store.CloseWatch(watcher);
            watcher.DisposeToken();
        }
        if (registration.CutBy.Task.IsCompletedSuccessfully)
        {
            await CutOffAsync(ctx, registration.CutBy.Task.Result).ConfigureAwait(false);
            return;
        }
        if (watcher.WasDropped) ctx.Abort();
    }

    /// <summary>Answers nothing: resets the connection now (Reset), or once the cut-off ends or the client gives up (Hang).</summary>
    private async Task CutOffAsync(HttpContext ctx, FaultInjector.CutOffRule cutOff)
    {
        if (cutOff.Mode == CutOffMode.Hang)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, shutdown, cutOff.Released);
            try
            {
                await Task.Delay(Timeout.Infinite, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Released, client gone, or shutting down: the connection is reset below either way.
            }
        }
        ctx.Abort();
    }

    private static async Task StartStreamAsync(HttpContext ctx)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.Headers.CacheControl = "no-cache, private";
        await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteJsonAsync(HttpContext ctx, int code, JsonNode body, IReadOnlyList<string>? warnings)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";

        // A Status that suggests when to retry says so in Retry-After too (handlers/responsewriters/writers.go, ErrorNegotiated).
        if (body is JsonObject { } status && JsonUtil.Str(status["kind"]) == "Status" && ctx.Response.Headers.RetryAfter.Count == 0
            && JsonUtil.TryGetLong(status["details"]?["retryAfterSeconds"]) is > 0 and var retryAfter)
        {
            ctx.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        }
        foreach (var warning in warnings ?? [])
        {
            ctx.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }
        var bytes = JsonUtil.ToUtf8(body);
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
    }
}
