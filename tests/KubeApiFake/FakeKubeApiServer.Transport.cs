using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KubeApiFake;

/// <summary>Transport: HTTP or HTTPS listener, bearer-token check and access log (see <see cref="FakeKubeApiServerOptions.UseHttps"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    private ServingCertificates? _certificates;

    /// <summary>
    /// The certificate authority that signed the serving certificate (PEM), or null when the
    /// server speaks plain HTTP. Clients trust it as kubeconfig's <c>certificate-authority-data</c>.
    /// </summary>
    public string? CertificateAuthorityPem => _certificates?.AuthorityPem;

    /// <summary>The token clients present (<see cref="FakeKubeApiServerOptions.BearerToken"/>, else <c>fake-token</c>, which is then not checked).</summary>
    public string Token => Options.BearerToken ?? "fake-token";

    /// <summary>
    /// An HTTP handler for this server: trusts only the server's own authority (HTTPS) and sends the
    /// bearer token on every request.
    /// </summary>
    public HttpMessageHandler CreateHandler()
    {
        var sockets = new SocketsHttpHandler();
        if (_certificates is { } certs)
        {
            sockets.SslOptions.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                CustomTrustStore = { X509CertificateLoader.LoadCertificate(certs.Authority.RawData) },
            };
        }
        return new BearerTokenHandler(Token) { InnerHandler = sockets };
    }

    private void Listen(KestrelServerOptions kestrel)
    {
        if (Options.UseHttps)
        {
            _certificates = ServingCertificates.Create(Options.TimeProvider.GetUtcNow());
            var serving = _certificates.Serving;
            kestrel.Listen(IPAddress.Loopback, Options.Port, l => l.UseHttps(serving));
        }
        else
        {
            kestrel.Listen(IPAddress.Loopback, Options.Port);
        }
    }

    private void UseTransportMiddleware(WebApplication app)
    {
        if (Options.AccessLog is { } accessLog)
        {
            app.Use(async (ctx, next) =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await next(ctx).ConfigureAwait(false);
                }
                finally
                {
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    accessLog(string.Create(CultureInfo.InvariantCulture,
                        $"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString} {ctx.Response.StatusCode} {ms:0.0}ms"));
                }
            });
        }
        if (Options.BearerToken is { } token)
        {
            var expected = Encoding.UTF8.GetBytes("Bearer " + token);
            app.Use(async (ctx, next) =>
            {
                var presented = Encoding.UTF8.GetBytes(ctx.Request.Headers.Authorization.ToString());
                if (CryptographicOperations.FixedTimeEquals(presented, expected))
                {
                    await next(ctx).ConfigureAwait(false);
                    return;
                }
                // The real server's answer when no authenticator accepts a request
                // (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go, Unauthorized).
                var body = JsonUtil.ToUtf8(StatusResponses.Failure(401, "Unauthorized", "Unauthorized", null));
                ctx.Response.StatusCode = 401;
                ctx.Response.ContentType = "application/json";
                ctx.Response.ContentLength = body.Length;
                await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted).ConfigureAwait(false);
            });
        }
    }

    private string KubeconfigClusterExtra() =>
        _certificates is { } certs
            ? $"\n    certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(certs.AuthorityPem))}"
            : "";

    private void DisposeTransport() => _certificates?.Dispose();

    private sealed class BearerTokenHandler(string token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization ??= new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
