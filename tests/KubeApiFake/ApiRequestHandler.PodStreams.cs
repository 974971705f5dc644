using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace KubeApiFake;

/// <summary>
/// The Pod subresources the kubelet serves: <c>log</c> (GET, authorised as <c>get</c> on
/// <c>pods/log</c>), <c>exec</c> and <c>attach</c> (an HTTP upgrade to WebSocket or SPDY, authorised
/// as <c>create</c> for POST and <c>get</c> for GET on <c>pods/exec</c>/<c>pods/attach</c>), as
/// pkg/registry/core/pod/rest/log.go and subresources.go serve them: the API server's own checks
/// first (<c>LogLocation</c>, <c>ExecLocation</c>, <c>AttachLocation</c> in pkg/registry/core/pod/strategy.go:
/// the Pod exists, the container is named or the Pod has exactly one, the Pod has a node), then the
/// request goes to the kubelet of the Pod's Node (<see cref="KubeletConnections"/>). Logs stream
/// through as text/plain (flushed as they come with <c>follow</c>, like
/// <c>genericrest.LocationStreamer</c>), and the kubelet's errors come back as
/// <c>GenericHttpResponseChecker</c> words them. An upgrade is proxied byte for byte
/// (k8s.io/apimachinery/pkg/util/proxy/upgradeaware.go, <c>tryUpgrade</c>), so the streaming protocol
/// is between the client and the kubelet.
/// </summary>
internal sealed partial class ApiRequestHandler
{
    /// <summary>Response headers not copied from the kubelet's 101 (Kestrel writes its own).</summary>
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Date", "Server", "Proxy-Connection",
    };

    private static bool IsPodStream(ApiRoute route) =>
        route is { Kind: RouteKind.Resource, Group: "", Resource: "pods", Namespace: not null, Name: not null, Subresource: "log" or "exec" or "attach" };

    /// <summary>Serves a log, exec or attach request; true when it became an upgraded connection (reported to <paramref name="upgraded"/> as it happened).</summary>
    private async Task<bool> ServePodStreamAsync(HttpContext ctx, ApiRoute route, string method, Action upgraded)
    {
        var pods = store.Resolve("", route.Version, "pods") ?? throw StatusResponses.ResourceNotFound();
        if (route.Subresource == "log")
        {
            if (method != "GET") throw StatusResponses.MethodNotAllowed();
            await ServeLogAsync(ctx, pods, route.Namespace!, route.Name!).ConfigureAwait(false);
            return false;
        }
        if (method is not ("GET" or "POST")) throw StatusResponses.MethodNotAllowed();
        return await ServeStreamUpgradeAsync(ctx, pods, route.Namespace!, route.Name!, route.Subresource!, upgraded).ConfigureAwait(false);
    }

    private async Task ServeLogAsync(HttpContext ctx, ResourceType pods, string ns, string name)
    {
        var query = ctx.Request.Query;
        var container = query["container"].ToString();
        var follow = QueryBool(query, "follow");
        var previous = QueryBool(query, "previous");
        var timestamps = QueryBool(query, "timestamps");
        var sinceSeconds = QueryLong(query, "sinceSeconds");
        var tailLines = QueryLong(query, "tailLines");
        var limitBytes = QueryLong(query, "limitBytes");
        DateTimeOffset? sinceTime = null;
        if (query["sinceTime"].ToString() is { Length: > 0 } since)
        {
            sinceTime = DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t
                : throw StatusResponses.BadRequest($"parsing time \"{since}\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"{since}\" as \"2006\"");
        }

        // pkg/apis/core/validation: ValidatePodLogOptions.
        var causes = new List<FieldCause>();
        if (tailLines is < 0) causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {tailLines}: must be greater than or equal to 0", "tailLines"));
        if (limitBytes is < 1) causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {limitBytes}: must be greater than 0", "limitBytes"));
        if (sinceSeconds is not null && sinceTime is not null)
        {
            causes.Add(new FieldCause("FieldValueForbidden", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified", ""));
        }
        else if (sinceSeconds is < 1)
        {
            causes.Add(new FieldCause("FieldValueInvalid", $"Invalid value: {sinceSeconds}: must be greater than 0", "sinceSeconds"));
        }
        if (causes.Count > 0) throw StatusResponses.Invalid(new ResourceType("", "v1", "podlogoptions", "PodLogOptions", true), name, causes);

        var pod = store.GetForApi(pods, ns, name);
        container = ContainerFor(pod, name, container);
        if (JsonUtil.Str(pod["spec"]?["nodeName"]) is not { Length: > 0 } nodeName)
        {
            // No node, no location: LocationStreamer answers an empty stream.
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/plain";
            return;
        }

        var parameters = new List<string>();
        if (follow) parameters.Add("follow=true");
        if (previous) parameters.Add("previous=true");
        if (timestamps) parameters.Add("timestamps=true");
        if (sinceSeconds is { } s) parameters.Add(Invariant($"sinceSeconds={s}"));
        if (sinceTime is { } st) parameters.Add("sinceTime=" + Uri.EscapeDataString(st.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
        if (tailLines is { } tl) parameters.Add(Invariant($"tailLines={tl}"));
        if (limitBytes is { } lb) parameters.Add(Invariant($"limitBytes={lb}"));
        parameters.Sort(StringComparer.Ordinal);
        var location = KubeletConnections.Location(store, nodeName,
            $"/containerLogs/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(container)}" + (parameters.Count > 0 ? "?" + string.Join("&", parameters) : ""));

        using var request = new HttpRequestMessage(HttpMethod.Get, location);
        HttpResponseMessage response;
        try
        {
            response = await server.Kubelets.Http.SendAsync(request, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw KubeletConnections.Unreachable("GET", location, e);
        }

        using (response)
        {
            await CheckKubeletResponseAsync(response, "pods/log", name, ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
            var body = await response.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            var buffer = new byte[32 * 1024];
            try
            {
                int read;
                while ((read = await body.ReadAsync(buffer, ctx.RequestAborted).ConfigureAwait(false)) > 0)
                {
                    await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, read), ctx.RequestAborted).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // The kubelet or the client went away mid-stream: the response just ends.
            }
        }
    }

    private async Task<bool> ServeStreamUpgradeAsync(HttpContext ctx, ResourceType pods, string ns, string name, string subresource, Action upgraded)
    {
        var query = ctx.Request.Query;
        var pod = store.GetForApi(pods, ns, name);
        var container = ContainerFor(pod, name, query["container"].ToString());
        if (JsonUtil.Str(pod["spec"]?["nodeName"]) is not { Length: > 0 } nodeName)
        {
            throw StatusResponses.BadRequest($"pod {name} does not have a host assigned");
        }

        // streamParams: the kubelet takes the api.Exec*Param names with "1" for true, sorted as url.Values.Encode sorts them.
        var parameters = new List<(string Key, string Value)>();
        if (subresource == "exec")
        {
            foreach (var part in query["command"]) parameters.Add(("command", part ?? ""));
        }
        if (QueryBool(query, "stdin")) parameters.Add(("input", "1"));
        if (QueryBool(query, "stdout")) parameters.Add(("output", "1"));
        if (QueryBool(query, "stderr")) parameters.Add(("error", "1"));
        if (QueryBool(query, "tty")) parameters.Add(("tty", "1"));
        var encoded = string.Join("&", parameters.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var location = KubeletConnections.Location(store, nodeName,
            $"/{subresource}/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(container)}" + (encoded.Length > 0 ? "?" + encoded : ""));

        var upgrade = ctx.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true }) throw StatusResponses.BadRequest("Upgrade request required");
        return await ProxyUpgradeAsync(ctx, upgrade, location, upgraded).ConfigureAwait(false);
    }

    /// <summary>upgradeaware.go <c>tryUpgrade</c>: the request goes to the backend with its headers (credentials removed), and a 101 joins the two connections.</summary>
    private async Task<bool> ProxyUpgradeAsync(HttpContext ctx, IHttpUpgradeFeature upgrade, Uri location, Action upgraded)
    {
        using var outgoing = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), location)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        foreach (var header in ctx.Request.Headers)
        {
            if (header.Key.StartsWith(':') || header.Key is "Host" || header.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
                || header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            outgoing.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
        }
        if (ctx.Connection.RemoteIpAddress is { } client) outgoing.Headers.TryAddWithoutValidation("X-Forwarded-For", client.ToString());

        HttpResponseMessage response;
        try
        {
            response = await server.Kubelets.Http.SendAsync(outgoing, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw KubeletConnections.Unreachable(ctx.Request.Method, location, e);
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
            {
                // The backend did not upgrade: its answer goes back to the client as it is.
                ctx.Response.StatusCode = (int)response.StatusCode;
                if (response.Content.Headers.ContentType is { } type) ctx.Response.ContentType = type.ToString();
                var text = await response.Content.ReadAsByteArrayAsync(ctx.RequestAborted).ConfigureAwait(false);
                ctx.Response.ContentLength = text.Length;
                await ctx.Response.Body.WriteAsync(text, ctx.RequestAborted).ConfigureAwait(false);
                return false;
            }

            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(header.Key)) ctx.Response.Headers[header.Key] = header.Value.ToArray();
            }
            var backend = await response.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            await using (backend.ConfigureAwait(false))
            {
                var clientStream = await upgrade.UpgradeAsync().ConfigureAwait(false);
                upgraded();
                await using (clientStream.ConfigureAwait(false))
                {
                    using var done = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, shutdown);
                    var toClient = PumpAsync(backend, clientStream, done.Token);
                    var toBackend = PumpAsync(clientStream, backend, done.Token);

                    // As tryUpgrade: once either half ends, both connections close.
                    await Task.WhenAny(toClient, toBackend).ConfigureAwait(false);
                    await done.CancelAsync().ConfigureAwait(false);
                    await Task.WhenAll(toClient, toBackend).ConfigureAwait(false);
                }
            }
        }
        return true;
    }

    private static async Task PumpAsync(Stream from, Stream to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                await to.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
            // One side went away; the caller closes both.
        }
    }

    /// <summary>
    /// The container a request is for (strategy.go <c>LogLocation</c>/<c>streamLocation</c>): the one
    /// named, which must be one of the Pod's (init, ephemeral) containers, or the Pod's only container.
    /// The <c>kubectl.kubernetes.io/default-container</c> annotation is read by kubectl, not here.
    /// </summary>
    private static string ContainerFor(JsonObject pod, string podName, string container)
    {
        var spec = pod["spec"] as JsonObject;
        static List<string> Names(JsonNode? list) => (list as JsonArray ?? []).OfType<JsonObject>().Select(c => JsonUtil.Str(c["name"]) ?? "").ToList();
        var containers = Names(spec?["containers"]);
        var initContainers = Names(spec?["initContainers"]);
        var ephemeral = Names(spec?["ephemeralContainers"]);
        if (container.Length > 0)
        {
            return containers.Contains(container) || initContainers.Contains(container) || ephemeral.Contains(container)
                ? container
                : throw StatusResponses.BadRequest($"container {container} is not valid for pod {podName}");
        }

        switch (containers.Count)
        {
            case 1:
                return containers[0];
            case 0:
                throw StatusResponses.BadRequest($"a container name must be specified for pod {podName}");
            default:
                var message = new StringBuilder($"a container name must be specified for pod {podName}, choose one of: [{string.Join(" ", containers)}]");
                if (initContainers.Count > 0) message.Append(CultureInfo.InvariantCulture, $" or one of the init containers: [{string.Join(" ", initContainers)}]");
                if (ephemeral.Count > 0) message.Append(CultureInfo.InvariantCulture, $" or one of the ephemeral containers: [{string.Join(" ", ephemeral)}]");
                throw StatusResponses.BadRequest(message.ToString());
        }
    }

    /// <summary>
    /// A non-2xx answer of the kubelet as the API server reports it
    /// (k8s.io/apiserver/pkg/registry/generic/rest/response_checker.go, <c>GenericHttpResponseChecker.Check</c>):
    /// 400 and 500 carry the kubelet's text, anything else <c>errors.NewGenericServerResponse</c>'s words.
    /// </summary>
    private static async Task CheckKubeletResponseAsync(HttpResponseMessage response, string qualifiedResource, string name, CancellationToken ct)
    {
        var code = (int)response.StatusCode;
        if (code is >= 200 and <= 206) return;
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 4 * 1024));
        var details = new JsonObject { ["name"] = name, ["kind"] = qualifiedResource };
        throw code switch
        {
            500 => StatusResponses.InternalError(text),
            400 => StatusResponses.BadRequest(text),
            _ => GenericServerResponse(code, qualifiedResource, name, text, details),
        };
    }

    private static KubeApiException GenericServerResponse(int code, string qualifiedResource, string name, string serverMessage, JsonObject details)
    {
        var (reason, message) = code switch
        {
            404 => ("NotFound", "the server could not find the requested resource"),
            401 => ("Unauthorized", "the server has asked for the client to provide credentials"),
            403 => ("Forbidden", serverMessage),
            405 => ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
            409 => ("Conflict", "the server reported a conflict"),
            422 => ("Invalid", "the server rejected our request due to an error in our request"),
            503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
            429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
            >= 500 => ("InternalError", $"an error on the server (\"{serverMessage}\") has prevented the request from succeeding"),
            _ => ("", $"the server responded with the status code {code} but did not return more information"),
        };

        // The verb is empty here, hence the two spaces kubectl shows: "( pods/log name)".
        return new KubeApiException(code, reason, $"{message} ( {qualifiedResource} {name})", details);
    }

    /// <summary>A boolean query parameter as Go's strconv.ParseBool reads it (the parameter codec); anything else is a 400.</summary>
    private static bool QueryBool(IQueryCollection query, string name)
    {
        var value = query[name].ToString();
        return value switch
        {
            "" => false,
            "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
            "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
            _ => throw StatusResponses.BadRequest($"strconv.ParseBool: parsing \"{value}\": invalid syntax"),
        };
    }

    private static long? QueryLong(IQueryCollection query, string name)
    {
        var value = query[name].ToString();
        if (value.Length == 0) return null;
        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw StatusResponses.BadRequest($"strconv.ParseInt: parsing \"{value}\": invalid syntax");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
