using System.Security.Cryptography.X509Certificates;

namespace KubeApiFake;

/// <summary>HTTPS serving (see <see cref="FakeKubeApiServerOptions.UseTls"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    private readonly ServingCertificates? _tls;

    /// <summary>
    /// The serving certificate (for 127.0.0.1, ::1 and localhost, signed by the authority of
    /// <see cref="CertificateAuthorityPem"/>) when <see cref="FakeKubeApiServerOptions.UseTls"/> is on, otherwise null.
    /// </summary>
    public X509Certificate2? Certificate => _tls?.Serving;

    /// <summary>The certificate authority that signed <see cref="Certificate"/>, in PEM, as a kubeconfig's <c>certificate-authority-data</c> holds it (base64 of this text); null without TLS.</summary>
    public string? CertificateAuthorityPem => _tls?.AuthorityPem;

    private string CertificateAuthorityLine => CertificateAuthorityPem is { } pem
        ? $"\n    certificate-authority-data: {Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(pem))}"
        : "";

    /// <summary>
    /// An <see cref="HttpMessageHandler"/> that, when the server serves HTTPS, trusts only its
    /// authority (as a client of the kubeconfig does).
    /// </summary>
    /// <returns>A new handler; the caller owns it.</returns>
    public HttpMessageHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler();
        if (_tls is { } tls)
        {
            handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                CustomTrustStore = { X509CertificateLoader.LoadCertificate(tls.Authority.RawData) },
            };
        }

        return handler;
    }
}
