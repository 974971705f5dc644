using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace UserApiOperator.Tests.Client;

/// <summary>Throw-away certificates made with <see cref="CertificateRequest"/>: a CA, server certificates it issues, client certificates.</summary>
internal static class TestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public static X509Certificate2 CreateCa(string name = "test-ca")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A server certificate issued by <paramref name="ca"/> for the DNS names and IP addresses given, loaded for Kestrel.</summary>
    public static X509Certificate2 IssueServer(X509Certificate2 ca, string[] dnsNames, IPAddress[] addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kube-apiserver", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames)
        {
            names.AddDnsName(dns);
        }

        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A self-signed client certificate (RSA 2048 or EC P-256) with its private key.</summary>
    public static X509Certificate2 CreateClient(string commonName, bool rsa)
    {
        var now = DateTimeOffset.UtcNow;
        if (rsa)
        {
            using var rsaKey = RSA.Create(2048);
            var rsaRequest = new CertificateRequest($"CN={commonName}, O=system:masters", rsaKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            rsaRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuth], false));
            return rsaRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        }

        using var ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ecRequest = new CertificateRequest($"CN={commonName}, O=system:masters", ecKey, HashAlgorithmName.SHA256);
        ecRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuth], false));
        return ecRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
    }

    /// <summary>Certificate PEM and key PEM; PKCS#1 (<c>RSA PRIVATE KEY</c>) / SEC1 (<c>EC PRIVATE KEY</c>) as kubeadm writes them, or PKCS#8.</summary>
    public static (string Certificate, string Key) ToPem(X509Certificate2 certificate, bool pkcs8 = false)
    {
        string key;
        if (certificate.GetRSAPrivateKey() is { } rsa)
        {
            using (rsa)
            {
                key = pkcs8 ? rsa.ExportPkcs8PrivateKeyPem() : rsa.ExportRSAPrivateKeyPem();
            }
        }
        else
        {
            using var ec = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("no private key");
            key = pkcs8 ? ec.ExportPkcs8PrivateKeyPem() : ec.ExportECPrivateKeyPem();
        }

        return (certificate.ExportCertificatePem(), key);
    }

    public static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A temporary directory removed at dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kcfg-" + Guid.NewGuid().ToString("N"));

    public string Write(string relativePath, string content)
    {
        var full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
