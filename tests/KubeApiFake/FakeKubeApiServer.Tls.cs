using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KubeApiFake;

/// <summary>HTTPS serving (see <see cref="FakeKubeApiServerOptions.UseTls"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    /// <summary>The server's self-signed certificate when <see cref="FakeKubeApiServerOptions.UseTls"/> is on, otherwise null.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The certificate in PEM, as a kubeconfig's <c>certificate-authority-data</c> holds it (base64 of this text); null without TLS.</summary>
    public string? CertificateAuthorityPem => Certificate?.ExportCertificatePem();

    private string CertificateAuthorityLine => CertificateAuthorityPem is { } pem
        ? $"\n    certificate-authority-data: {Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(pem))}"
        : "";

    /// <summary>An <see cref="HttpMessageHandler"/> that trusts this server's certificate (and only it) when it serves HTTPS.</summary>
    /// <returns>A new handler; the caller owns it.</returns>
    public HttpMessageHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler();
        if (Certificate is { } trusted)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHash().AsSpan().SequenceEqual(trusted.GetCertHash());
        }

        return handler;
    }

    /// <summary>
    /// A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, valid from an hour ago for
    /// a day, usable as its own certificate authority (Go's verifier accepts a root that is also the leaf).
    /// </summary>
    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-api-fake", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }
}
