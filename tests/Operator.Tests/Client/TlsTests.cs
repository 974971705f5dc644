using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Tests.Client;

public sealed class TlsTests : IDisposable
{
    private readonly X509Certificate2 _ca = TestCertificates.CreateCa("cluster-ca");
    private readonly X509Certificate2 _otherCa = TestCertificates.CreateCa("other-ca");

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }

    private static Uri Https(ScriptedApiServer server) => new UriBuilder(server.BaseUri) { Scheme = "https" }.Uri;

    private static async Task<Exception?> TryGet(KubernetesClientConfiguration configuration, ScriptedApiServer server)
    {
        server.RespondStatus(404, "NotFound", "x");
        using var client = new KubernetesClient(configuration);
        try
        {
            await client.GetAsync<V1Secret>("db", "x", CancellationToken.None);
            return null;
        }
        catch (HttpRequestException e)
        {
            return e;
        }
    }

    [Fact]
    public async Task A_server_certificate_issued_by_the_configured_ca_is_trusted_and_others_are_not()
    {
        using var serverCertificate = TestCertificates.IssueServer(_ca, ["localhost"], [IPAddress.Loopback]);
        await using var server = await ScriptedApiServer.StartAsync(serverCertificate);
        var uri = Https(server);

        Assert.Null(await TryGet(new KubernetesClientConfiguration { Server = uri, CertificateAuthorities = [_ca] }, server));

        var untrusted = await TryGet(new KubernetesClientConfiguration { Server = uri, CertificateAuthorities = [_otherCa] }, server);
        Assert.NotNull(untrusted);
        Assert.False(KubernetesErrors.IsTransient(untrusted));

        Assert.NotNull(await TryGet(new KubernetesClientConfiguration { Server = uri }, server)); // system trust store
        Assert.Null(await TryGet(new KubernetesClientConfiguration { Server = uri, SkipTlsVerify = true }, server));
    }

    [Fact]
    public async Task Tls_server_name_replaces_the_url_host_in_the_name_check()
    {
        using var serverCertificate = TestCertificates.IssueServer(_ca, ["kubernetes.default.svc"], []);
        await using var server = await ScriptedApiServer.StartAsync(serverCertificate);
        var uri = Https(server);

        Assert.NotNull(await TryGet(new KubernetesClientConfiguration { Server = uri, CertificateAuthorities = [_ca] }, server));
        Assert.Null(await TryGet(new KubernetesClientConfiguration { Server = uri, CertificateAuthorities = [_ca], TlsServerName = "kubernetes.default.svc" }, server));
        Assert.NotNull(await TryGet(new KubernetesClientConfiguration { Server = uri, CertificateAuthorities = [_ca], TlsServerName = "wrong.example" }, server));
    }

    [Fact]
    public async Task A_kubeconfig_with_ca_data_and_client_certificate_data_authenticates_over_https()
    {
        using var serverCertificate = TestCertificates.IssueServer(_ca, ["localhost"], [IPAddress.Loopback]);
        await using var server = await ScriptedApiServer.StartAsync(serverCertificate, requireClientCertificate: true);
        using var clientCertificate = TestCertificates.CreateClient("alice", rsa: true);
        var (certificatePem, keyPem) = TestCertificates.ToPem(clientCertificate);
        using var dir = new TempDirectory();
        var path = dir.Write("config", $"""
            apiVersion: v1
            kind: Config
            current-context: tls
            clusters:
            - name: tls
              cluster:
                server: {Https(server)}
                certificate-authority-data: {TestCertificates.Base64(_ca.ExportCertificatePem())}
            users:
            - name: alice
              user:
                client-certificate-data: {TestCertificates.Base64(certificatePem)}
                client-key-data: {TestCertificates.Base64(keyPem)}
            contexts:
            - name: tls
              context:
                cluster: tls
                user: alice
            """);
        var configuration = new KubeConfigLoader().LoadKubeConfig(path);
        server.RespondJson(200, new V1Secret { Metadata = new V1ObjectMeta { Name = "db", Namespace = "default" } });
        using var client = new KubernetesClient(configuration);

        var secret = await client.GetAsync<V1Secret>("db", configuration.Namespace, CancellationToken.None);

        Assert.Equal("db", secret!.Metadata.Name);
        var request = Assert.Single(server.Requests);
        Assert.Contains("CN=alice", request.ClientCertificateSubject, StringComparison.Ordinal);
        Assert.Null(request.Header("Authorization"));
    }

    [Fact]
    public void The_validator_is_null_without_custom_settings_and_accepts_all_when_insecure()
    {
        var server = new Uri("https://k8s.example");
        Assert.Null(KubernetesHttp.CreateServerCertificateValidator(new KubernetesClientConfiguration { Server = server }));
        var insecure = KubernetesHttp.CreateServerCertificateValidator(new KubernetesClientConfiguration { Server = server, SkipTlsVerify = true })!;
        Assert.True(insecure(this, null, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch));
    }

    [Fact]
    public void The_validator_checks_chain_to_the_custom_root_and_name()
    {
        using var leaf = TestCertificates.IssueServer(_ca, ["api.example"], []);
        var authorities = new X509Certificate2Collection(_ca);
        Assert.True(KubernetesHttp.ValidateServerCertificate(leaf, null, SslPolicyErrors.RemoteCertificateChainErrors, authorities, null));
        Assert.False(KubernetesHttp.ValidateServerCertificate(leaf, null, SslPolicyErrors.RemoteCertificateChainErrors, new X509Certificate2Collection(_otherCa), null));
        Assert.False(KubernetesHttp.ValidateServerCertificate(leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch, authorities, null));
        Assert.True(KubernetesHttp.ValidateServerCertificate(leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch, authorities, "api.example"));
        Assert.False(KubernetesHttp.ValidateServerCertificate(leaf, null, SslPolicyErrors.None, authorities, "other.example"));
        Assert.False(KubernetesHttp.ValidateServerCertificate(null, null, SslPolicyErrors.RemoteCertificateNotAvailable, authorities, null));
    }
}
