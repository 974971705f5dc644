using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>
/// The aggregation layer (kube-aggregator, staging/src/k8s.io/kube-aggregator/pkg/apiserver/handler_proxy.go,
/// <c>proxyHandler.ServeHTTP</c>): a request under <c>/apis/GROUP/VERSION</c> for which an
/// APIService <c>VERSION.GROUP</c> names a Service is authorised here first like any other (e.g.
/// <c>list</c> on <c>pods</c> in API group <c>metrics.k8s.io</c>), then proxied to that Service's
/// backend: an address of its Endpoints (as with <c>--enable-aggregator-routing</c>), the path and
/// query unchanged, the user in <c>X-Remote-User</c> and <c>X-Remote-Group</c> (the request-header
/// authentication the aggregator uses towards its backends; the groups in one comma-separated
/// header, as .NET's HttpClient joins repeated headers, where the aggregator sends one header per
/// group) and without the client's credentials;
/// the answer streams back as it comes. An APIService that is not Available, or whose backend
/// cannot be reached, answers 503 with plain text (<c>service unavailable</c>, or the dial error),
/// as the aggregator's <c>proxyError</c> does, which clients report as "the server is currently
/// unable to handle the request". The connection is HTTPS when the APIService gives a
/// <c>caBundle</c> (the backend's certificate must chain to it and name
/// <c>SERVICE.NAMESPACE.svc</c>) or <c>insecureSkipTLSVerify</c>; with neither it is plain HTTP,
/// where a real aggregator would still speak HTTPS (and fail without a trusted authority).
/// Upgrades (watch over WebSocket, exec) are not proxied.
/// </summary>
internal sealed partial class ApiRequestHandler
{
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Content-Length", "Content-Type",
    };

    /// <summary>Proxies the request when it belongs to an aggregated API; false when it does not (then it is served here).</summary>
    private async Task<bool> TryProxyToApiServiceAsync(HttpContext ctx, ApiRoute route, string method, string? body, RecordedRequest recorded)
    {
        if (route.Kind is not (RouteKind.Resource or RouteKind.ResourceList) || route.Group.Length == 0) return false;
        if (store.AggregatedApiService(route.Group, route.Version) is not { } apiService) return false;

        var available = (apiService["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => JsonUtil.Str(c["type"]) == "Available" && JsonUtil.Str(c["status"]) == "True") == true;
        if (!available)
        {
            await ProxyErrorAsync(ctx, recorded, "service unavailable").ConfigureAwait(false);
            return true;
        }

        (string Host, long Port) backend;
        try
        {
            backend = store.ResolveApiServiceBackend(apiService);
        }
        catch (KubeApiException e)
        {
            await ProxyErrorAsync(ctx, recorded, e.Message).ConfigureAwait(false);
            return true;
        }

        var spec = apiService["spec"] as JsonObject;
        var caBundle = JsonUtil.Str(spec?["caBundle"]);
        var tls = caBundle is { Length: > 0 } || JsonUtil.IsTrue(spec?["insecureSkipTLSVerify"]);
        var host = IPAddress.TryParse(backend.Host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{backend.Host}]" : backend.Host;
        var location = new Uri($"{(tls ? "https" : "http")}://{host}:{backend.Port}{ctx.Request.Path.Value}{ctx.Request.QueryString.Value}");

        using var outgoing = new HttpRequestMessage(new HttpMethod(method), location);
        foreach (var header in ctx.Request.Headers)
        {
            if (header.Key.StartsWith(':') || NotForwarded.Contains(header.Key) || header.Key.StartsWith("X-Remote-", StringComparison.OrdinalIgnoreCase)) continue;
            outgoing.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
        }
        if (body is not null)
        {
            outgoing.Content = new StringContent(body, Encoding.UTF8);
            if (ctx.Request.ContentType is { Length: > 0 } contentType) outgoing.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        if (AccessControl.UserOf(ctx) is { } user)
        {
            // transport.SetAuthProxyHeaders.
            outgoing.Headers.TryAddWithoutValidation("X-Remote-User", user.Name);
            foreach (var group in user.Groups) outgoing.Headers.TryAddWithoutValidation("X-Remote-Group", group);
        }
        if (ctx.Connection.RemoteIpAddress is { } client) outgoing.Headers.TryAddWithoutValidation("X-Forwarded-For", client.ToString());

        using var invoker = tls ? TlsInvoker(caBundle, spec) : null;
        HttpResponseMessage response;
        try
        {
            response = await (invoker ?? server.Kubelets.Http).SendAsync(outgoing, ctx.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            await ProxyErrorAsync(ctx, recorded, KubeletConnections.DialError(location, e)).ConfigureAwait(false);
            return true;
        }

        using (response)
        {
            ctx.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(header.Key)) ctx.Response.Headers[header.Key] = header.Value.ToArray();
            }
            log.Add(recorded with { StatusCode = (int)response.StatusCode });
            await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            var buffer = new byte[32 * 1024];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, ctx.RequestAborted).ConfigureAwait(false)) > 0)
                {
                    await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, read), ctx.RequestAborted).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // The backend or the client went away mid-answer: the response just ends.
            }
        }
        return true;
    }

    /// <summary><c>proxyError</c>: <c>http.Error(w, msg, 503)</c>, a plain-text line, not a Status.</summary>
    private async Task ProxyErrorAsync(HttpContext ctx, RecordedRequest recorded, string message)
    {
        log.Add(recorded with { StatusCode = 503 });
        ctx.Response.StatusCode = 503;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
        await ctx.Response.WriteAsync(message + "\n", ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// A connection for one request to an HTTPS backend: its certificate must chain to
    /// <paramref name="caBundle"/> and name <c>SERVICE.NAMESPACE.svc</c> (the aggregator's
    /// <c>ServerName</c>), or is not checked at all with <c>insecureSkipTLSVerify</c>.
    /// </summary>
    private static HttpMessageInvoker TlsInvoker(string? caBundle, JsonObject? spec)
    {
        var reference = spec?["service"];
        var serverName = $"{JsonUtil.Str(reference?["name"])}.{JsonUtil.Str(reference?["namespace"])}.svc";
        var authorities = new X509Certificate2Collection();
        if (caBundle is { Length: > 0 })
        {
            authorities.ImportFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(caBundle)));
        }
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (authorities.Count == 0) return true;
                    if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                    using var leaf = new X509Certificate2(certificate);
                    return chain.Build(leaf);
                },
            },
        };
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }
}
