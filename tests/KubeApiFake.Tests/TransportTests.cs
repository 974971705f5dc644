using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace KubeApiFake.Tests;

/// <summary>HTTPS with the generated authority and serving certificate, tokens over it, and the access log.</summary>
public sealed class TransportTests : FakeServerTest
{
    private readonly List<string> _accessLog = [];

    protected override FakeKubeApiServerOptions CreateOptions() => new()
    {
        UseTls = true,
        EnableAuthorization = true,
        AccessLog = line =>
        {
            lock (_accessLog) _accessLog.Add(line);
        },
    };

    [Fact]
    public async Task Serves_https_to_a_client_that_trusts_the_authority_and_sends_the_token()
    {
        Assert.Equal("https", Api.BaseAddress.Scheme);
        var (code, versions) = await Http.GetJsonAsync("/api");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("APIVersions", versions["kind"].Str());
    }

    [Fact]
    public async Task A_request_without_the_right_token_is_401_Unauthorized_Status()
    {
        using var noToken = new HttpClient(TrustingHandler()) { BaseAddress = Api.BaseAddress };
        var (code, status) = await noToken.GetJsonAsync("/api/v1/namespaces/default/secrets");
        Assert.Equal(HttpStatusCode.Unauthorized, code);
        Assert.Equal(("Status", "Failure", "Unauthorized", 401), (status["kind"].Str(), status["status"].Str(), status["reason"].Str(), status["code"]!.GetValue<int>()));

        noToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Api.AdminToken + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await noToken.GetJsonAsync("/version")).Code);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_authority_fails_the_handshake()
    {
        using var untrusting = new HttpClient { BaseAddress = Api.BaseAddress };
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri("/api", UriKind.Relative)));
        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public void Kubeconfig_carries_the_authority_and_the_token()
    {
        var yaml = Api.KubeconfigYaml();
        Assert.Contains($"server: https://127.0.0.1:{Api.BaseAddress.Port}", yaml, StringComparison.Ordinal);
        Assert.Contains($"token: {Api.AdminToken}", yaml, StringComparison.Ordinal);
        var data = yaml.Split('\n').Single(l => l.TrimStart().StartsWith("certificate-authority-data:", StringComparison.Ordinal)).Split(':')[1].Trim();
        var pem = Encoding.ASCII.GetString(Convert.FromBase64String(data));
        Assert.Equal(Api.CertificateAuthorityPem, pem);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", pem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_serving_certificate_is_signed_by_the_authority_and_names_loopback_and_localhost()
    {
        X509Certificate2? seen = null;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            seen = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return true;
        };
        using var http = new HttpClient(handler) { BaseAddress = Api.BaseAddress };
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotNull(seen);
        using (seen)
        {
            var san = seen.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.Contains(IPAddress.Loopback, san.EnumerateIPAddresses());
            Assert.Contains("localhost", san.EnumerateDnsNames());
            Assert.Equal(Api.Certificate!.RawData, seen.RawData);
            using var authority = X509Certificate2.CreateFromPem(Api.CertificateAuthorityPem);
            Assert.Equal(authority.Subject, seen.Issuer);
            Assert.NotEqual(authority.Subject, seen.Subject);
            Assert.True(authority.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
            Assert.False(seen.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        }
    }

    [Fact]
    public async Task The_access_log_gets_one_line_per_request()
    {
        await Http.GetJsonAsync("/api/v1/namespaces");
        await Http.GetJsonAsync("/api/v1/namespaces/default/secrets/missing");
        string[] lines;
        lock (_accessLog) lines = [.. _accessLog];
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("GET /api/v1/namespaces 200 ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("GET /api/v1/namespaces/default/secrets/missing 404 ", lines[1], StringComparison.Ordinal);
    }

    private HttpMessageHandler TrustingHandler()
    {
        var handler = new SocketsHttpHandler();
        var authority = X509Certificate2.CreateFromPem(Api.CertificateAuthorityPem);
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            CustomTrustStore = { authority },
        };
        return handler;
    }
}

/// <summary>Without the options the fake stays plain HTTP with no authentication (in-process tests).</summary>
public sealed class PlainTransportTests : FakeServerTest
{
    [Fact]
    public async Task Default_is_plain_http_and_any_token_works()
    {
        Assert.Equal("http", Api.BaseAddress.Scheme);
        Assert.Null(Api.CertificateAuthorityPem);
        Assert.DoesNotContain("certificate-authority-data", Api.KubeconfigYaml(), StringComparison.Ordinal);
        using var anonymous = new HttpClient { BaseAddress = Api.BaseAddress };
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetJsonAsync("/api")).Code);
    }
}
