using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KubeApiFake;

/// <summary>
/// A certificate authority and a serving certificate signed by it, generated in memory (ECDSA P-256)
/// for one server run. The serving certificate names 127.0.0.1, ::1 and localhost as subject
/// alternative names, plus the names a cluster's API server answers to (see <see cref="ClusterNames"/>):
/// Go's crypto/x509 (kubectl) ignores the common name and checks SANs only, and so does .NET's
/// validation of an in-cluster client.
/// </summary>
internal sealed class ServingCertificates : IDisposable
{
    private ServingCertificates(X509Certificate2 authority, X509Certificate2 serving)
    {
        Authority = authority;
        Serving = serving;
    }

    /// <summary>The self-signed authority (public part only).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The serving certificate with its private key, for Kestrel.</summary>
    public X509Certificate2 Serving { get; }

    /// <summary>The authority as PEM text, as kubeconfig's <c>certificate-authority-data</c> holds it (base64 of this).</summary>
    public string AuthorityPem => Authority.ExportCertificatePem() + "\n";

    /// <summary>
    /// The DNS names in-cluster clients use for the API server, as kubeadm puts them in the serving
    /// certificate (cmd/kubeadm/app/phases/certs/certlist.go, <c>GetAPIServerAltNames</c>): the
    /// <c>kubernetes</c> Service's names.
    /// </summary>
    public static readonly string[] ClusterNames =
        ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

    /// <summary>
    /// Generates both certificates, valid from an hour ago for one year. The serving certificate names
    /// the loopback addresses and localhost, and <paramref name="extraAddresses"/> and
    /// <paramref name="extraNames"/> (e.g. the advertised address and <see cref="ClusterNames"/>).
    /// </summary>
    public static ServingCertificates Create(DateTimeOffset now, IEnumerable<IPAddress>? extraAddresses = null, IEnumerable<string>? extraNames = null)
    {
        var notBefore = now.AddHours(-1);
        var notAfter = now.AddYears(1);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=kube-api-fake-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(notBefore, notAfter);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-api-fake", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        names.AddDnsName("localhost");
        foreach (var address in (extraAddresses ?? []).Where(a => !a.Equals(IPAddress.Loopback) && !a.Equals(IPAddress.IPv6Loopback)).Distinct()) names.AddIpAddress(address);
        foreach (var name in (extraNames ?? []).Where(n => n != "localhost").Distinct(StringComparer.Ordinal)) names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var signed = request.Create(caWithKey, notBefore, notAfter, serial);
        var serving = signed.CopyWithPrivateKey(key);
        var authority = X509CertificateLoader.LoadCertificate(caWithKey.RawData);
        return new ServingCertificates(authority, serving);
    }

    public void Dispose()
    {
        Authority.Dispose();
        Serving.Dispose();
    }
}
