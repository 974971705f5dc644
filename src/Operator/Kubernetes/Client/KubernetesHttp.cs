using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// Builds the HTTP pipeline of a <see cref="KubernetesClient"/>: observing handler, authentication
/// handler, and one <see cref="SocketsHttpHandler"/> configured for the cluster's TLS settings.
/// </summary>
internal static class KubernetesHttp
{
    /// <summary>Request option: the Kubernetes verb (<c>list</c>, <c>watch</c>...).</summary>
    public static readonly HttpRequestOptionsKey<string> VerbKey = new("kubernetes.verb");

    /// <summary>Request option: the plural resource, with <c>/status</c> for the subresource.</summary>
    public static readonly HttpRequestOptionsKey<string> ResourceKey = new("kubernetes.resource");

    /// <summary>Request option: the namespace, if any.</summary>
    public static readonly HttpRequestOptionsKey<string?> NamespaceKey = new("kubernetes.namespace");

    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>The complete handler chain for <paramref name="configuration"/>.</summary>
    public static HttpMessageHandler CreateHandler(KubernetesClientConfiguration configuration, IKubernetesRequestObserver? observer, TimeProvider timeProvider)
    {
        HttpMessageHandler handler = CreatePrimaryHandler(configuration);
        var tokens = configuration.AccessToken is null && configuration.TokenFile is null
            ? null
            : new BearerTokenSource(configuration.AccessToken, configuration.TokenFile, configuration.TokenRefreshInterval, timeProvider);
        var basic = configuration.Username is null
            ? null
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{configuration.Username}:{configuration.Password}")));
        if (tokens is not null || basic is not null)
        {
            handler = new AuthenticationHandler(tokens, basic) { InnerHandler = handler };
        }

        if (observer is not null)
        {
            handler = new ObservingHandler(observer, timeProvider) { InnerHandler = handler };
        }

        return handler;
    }

    /// <summary>
    /// One <see cref="SocketsHttpHandler"/>: pooled connections recycled after
    /// <see cref="KubernetesClientConfiguration.PooledConnectionLifetime"/>, gzip, no redirects or
    /// cookies, the client certificate, the proxy, and the server certificate check of
    /// <see cref="CreateServerCertificateValidator"/>. HTTP/1.1 (each watch holds its own connection).
    /// </summary>
    public static SocketsHttpHandler CreatePrimaryHandler(KubernetesClientConfiguration configuration)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = configuration.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            ConnectTimeout = configuration.RequestTimeout < TimeSpan.FromSeconds(30) ? configuration.RequestTimeout : TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.GZip,
            AllowAutoRedirect = false,
            UseCookies = false,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = CreateServerCertificateValidator(configuration);
        if (configuration.ClientCertificate is { } certificate)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        if (configuration.ProxyUrl is { } proxy)
        {
            handler.Proxy = new WebProxy(proxy);
            handler.UseProxy = true;
        }

        return handler;
    }

    /// <summary>
    /// The server certificate check: null (the platform's check against the system trust store) when
    /// neither CAs nor a TLS server name are configured; accept-all with
    /// <see cref="KubernetesClientConfiguration.SkipTlsVerify"/>; otherwise <see cref="ValidateServerCertificate"/>.
    /// </summary>
    public static RemoteCertificateValidationCallback? CreateServerCertificateValidator(KubernetesClientConfiguration configuration)
    {
        if (configuration.SkipTlsVerify)
        {
            return static (_, _, _, _) => true;
        }

        var authorities = configuration.CertificateAuthorities;
        var serverName = configuration.TlsServerName;
        if (authorities is null && serverName is null)
        {
            return null;
        }

        return (_, certificate, chain, errors) => ValidateServerCertificate(certificate, chain, errors, authorities, serverName);
    }

    /// <summary>
    /// Accepts the server certificate when its name matches (<paramref name="serverName"/> if given,
    /// else the platform's check against the URL host) and, with <paramref name="authorities"/>, a chain
    /// to one of them alone builds (<see cref="X509ChainTrustMode.CustomRootTrust"/>, intermediates the
    /// server sent allowed, revocation not checked, server-authentication usage if the certificate
    /// restricts usages, no network fetch of missing intermediates); without them, the platform's chain verdict stands. Trust anchors must be
    /// self-signed roots.
    /// </summary>
    public static bool ValidateServerCertificate(
        X509Certificate? certificate,
        X509Chain? presentedChain,
        SslPolicyErrors errors,
        X509Certificate2Collection? authorities,
        string? serverName)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var owned = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        var leaf = owned ?? (X509Certificate2)certificate;
        var nameMatches = serverName is null
            ? !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            : leaf.MatchesHostname(serverName);
        if (!nameMatches)
        {
            return false;
        }

        if (authorities is null)
        {
            return !errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors);
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthenticationOid));
        if (presentedChain is not null)
        {
            foreach (var element in presentedChain.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        return chain.Build(leaf);
    }

    /// <summary>Adds <c>Authorization: Bearer</c> (preferred) or <c>Basic</c> to requests that carry none; a 401 makes the token file be re-read on the next request.</summary>
    private sealed class AuthenticationHandler(BearerTokenSource? tokens, AuthenticationHeaderValue? basic) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Authorization is null)
            {
                if (tokens?.GetToken() is { } token)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }
                else if (basic is not null)
                {
                    request.Headers.Authorization = basic;
                }
            }

            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                tokens?.Invalidate();
            }

            return response;
        }
    }

    /// <summary>Times each request to its response headers and reports it to the observer.</summary>
    private sealed class ObservingHandler(IKubernetesRequestObserver observer, TimeProvider timeProvider) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = timeProvider.GetTimestamp();
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                Report(request, (int)response.StatusCode, null, started);
                return response;
            }
            catch (Exception e)
            {
                Report(request, null, e, started);
                throw;
            }
        }

        private void Report(HttpRequestMessage request, int? statusCode, Exception? exception, long started)
        {
            request.Options.TryGetValue(VerbKey, out var verb);
            request.Options.TryGetValue(ResourceKey, out var resource);
            request.Options.TryGetValue(NamespaceKey, out var ns);
            var info = new KubernetesRequestInfo(
                request.Method.Method,
                verb ?? request.Method.Method.ToLowerInvariant(),
                resource ?? "",
                ns,
                statusCode,
                timeProvider.GetElapsedTime(started),
                exception);
            try
            {
                observer.OnRequestCompleted(info);
            }
#pragma warning disable CA1031 // A metrics observer must never fail a Kubernetes request.
            catch (Exception observerFailure)
#pragma warning restore CA1031
            {
                Debug.WriteLine($"IKubernetesRequestObserver failed: {observerFailure}");
            }
        }
    }
}

/// <summary>
/// The current bearer token: a static token, or the content of a token file re-read at most every
/// refresh interval (bound service-account tokens rotate). A failed or empty read keeps the last
/// good token (or the static one). Thread-safe.
/// </summary>
internal sealed class BearerTokenSource(string? staticToken, string? tokenFile, TimeSpan refreshInterval, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private string? _fileToken;
    private DateTimeOffset? _readAt;

    /// <summary>The token to send now, or null when none is known.</summary>
    public string? GetToken()
    {
        if (tokenFile is null)
        {
            return staticToken;
        }

        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            if (_readAt is { } readAt && now - readAt < refreshInterval)
            {
                return _fileToken ?? staticToken;
            }

            try
            {
                var text = File.ReadAllText(tokenFile).Trim();
                if (text.Length > 0)
                {
                    _fileToken = text;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Keep the last good token; the file may be mid-rotation.
            }

            _readAt = now;
            return _fileToken ?? staticToken;
        }
    }

    /// <summary>Forces the next <see cref="GetToken"/> to re-read the file (after a 401).</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _readAt = null;
        }
    }
}
