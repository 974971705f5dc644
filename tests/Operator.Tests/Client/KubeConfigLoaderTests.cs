using UserApiOperator.Kubernetes.Client;

namespace UserApiOperator.Tests.Client;

public sealed class KubeConfigLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string KubeConfig(string cluster, string user, string contextExtra = "", string currentContext = "current-context: dev") => $"""
        apiVersion: v1
        kind: Config
        {currentContext}
        clusters:
        - name: dev-cluster
          cluster:
        {Indent(cluster, 4)}
        users:
        - name: dev-user
          user:
        {Indent(user, 4)}
        contexts:
        - name: dev
          context:
            cluster: dev-cluster
            user: dev-user
        {Indent(contextExtra, 4)}
        - name: other
          context:
            cluster: dev-cluster
            user: dev-user
            namespace: other-ns
        """;

    private static string Indent(string text, int spaces) =>
        string.Join("\n", text.Split('\n').Select(line => line.Length == 0 ? line : new string(' ', spaces) + line));

    private KubernetesClientConfiguration LoadFile(string content, string? context = null)
    {
        var path = _dir.Write("config", content);
        return new KubeConfigLoader().LoadKubeConfig(path, context);
    }

    [Fact]
    public void Token_server_namespace_and_ca_data_are_read_from_the_current_context()
    {
        using var ca = TestCertificates.CreateCa();
        var config = LoadFile(KubeConfig(
            $"server: https://10.0.0.1:6443\ncertificate-authority-data: {TestCertificates.Base64(ca.ExportCertificatePem())}\ntls-server-name: kubernetes.default.svc",
            "token: abc.def.ghi",
            "namespace: team-a"));

        Assert.Equal(new Uri("https://10.0.0.1:6443"), config.Server);
        Assert.Equal("team-a", config.Namespace);
        Assert.Equal("abc.def.ghi", config.AccessToken);
        Assert.Null(config.TokenFile);
        Assert.Equal("kubernetes.default.svc", config.TlsServerName);
        Assert.False(config.SkipTlsVerify);
        Assert.Equal(ca.Thumbprint, Assert.Single(config.CertificateAuthorities!).Thumbprint);
        Assert.Equal("dev", config.ContextName);
        Assert.Contains(_dir.Path, config.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Namespace_defaults_to_default_and_a_named_context_overrides_the_current_one()
    {
        var content = KubeConfig("server: http://127.0.0.1:8080", "token: t");
        Assert.Equal("default", LoadFile(content).Namespace);
        Assert.Equal("other-ns", LoadFile(content, "other").Namespace);
    }

    [Fact]
    public void Plain_scalars_that_look_like_numbers_stay_text()
    {
        var config = LoadFile(KubeConfig("server: http://127.0.0.1:8080", "token: 12345\nusername: admin\npassword: 4711"));
        Assert.Equal("12345", config.AccessToken);
        Assert.Equal("admin", config.Username);
        Assert.Equal("4711", config.Password);
    }

    [Fact]
    public void Relative_certificate_authority_and_token_file_paths_are_resolved_against_the_kubeconfig_directory()
    {
        using var ca = TestCertificates.CreateCa();
        _dir.Write("pki/ca.crt", ca.ExportCertificatePem());
        _dir.Write("secrets/token", "file-token\n");
        var config = LoadFile(KubeConfig("server: https://k8s.example:443\ncertificate-authority: pki/ca.crt", "tokenFile: secrets/token"));

        Assert.Equal(ca.Thumbprint, Assert.Single(config.CertificateAuthorities!).Thumbprint);
        Assert.Equal(Path.Combine(_dir.Path, "secrets", "token"), config.TokenFile);
    }

    [Fact]
    public void Insecure_skip_tls_verify_is_read()
    {
        var config = LoadFile(KubeConfig("server: https://k8s.example\ninsecure-skip-tls-verify: true", "token: t"));
        Assert.True(config.SkipTlsVerify);
        Assert.Null(config.CertificateAuthorities);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void Client_certificate_and_key_data_give_a_certificate_with_its_private_key(bool rsa, bool pkcs8)
    {
        using var client = TestCertificates.CreateClient("alice", rsa);
        var (certificatePem, keyPem) = TestCertificates.ToPem(client, pkcs8);
        var config = LoadFile(KubeConfig(
            "server: https://k8s.example",
            $"client-certificate-data: {TestCertificates.Base64(certificatePem)}\nclient-key-data: {TestCertificates.Base64(keyPem)}"));

        Assert.NotNull(config.ClientCertificate);
        Assert.Equal(client.Thumbprint, config.ClientCertificate.Thumbprint);
        Assert.True(config.ClientCertificate.HasPrivateKey);
    }

    [Fact]
    public void Client_certificate_and_key_files_are_read()
    {
        using var client = TestCertificates.CreateClient("bob", rsa: false);
        var (certificatePem, keyPem) = TestCertificates.ToPem(client);
        _dir.Write("bob.crt", certificatePem);
        _dir.Write("bob.key", keyPem);
        var config = LoadFile(KubeConfig("server: https://k8s.example", "client-certificate: bob.crt\nclient-key: bob.key"));
        Assert.Equal(client.Thumbprint, config.ClientCertificate!.Thumbprint);
    }

    [Fact]
    public void A_missing_current_context_is_a_clear_error_naming_the_file()
    {
        var path = _dir.Write("config", KubeConfig("server: https://k8s.example", "token: t", currentContext: ""));
        var error = Assert.Throws<KubeConfigException>(() => new KubeConfigLoader().LoadKubeConfig(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("current-context", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"dev\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_context_cluster_and_user_are_clear_errors()
    {
        var content = KubeConfig("server: https://k8s.example", "token: t");
        var unknownContext = Assert.Throws<KubeConfigException>(() => LoadFile(content, "prod"));
        Assert.Contains("context \"prod\" is not defined", unknownContext.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_dir.Path, "config"), unknownContext.Message, StringComparison.Ordinal);

        var unknownCluster = Assert.Throws<KubeConfigException>(() => LoadFile(content.Replace("cluster: dev-cluster", "cluster: gone", StringComparison.Ordinal)));
        Assert.Contains("cluster \"gone\"", unknownCluster.Message, StringComparison.Ordinal);

        var unknownUser = Assert.Throws<KubeConfigException>(() => LoadFile(content.Replace("user: dev-user", "user: nobody", StringComparison.Ordinal)));
        Assert.Contains("user \"nobody\"", unknownUser.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exec_user_is_rejected_naming_the_user()
    {
        var error = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig(
            "server: https://k8s.example",
            "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n  command: aws\n  args: [eks, get-token]")));
        Assert.Contains("user \"dev-user\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("exec credential plugin", error.Message, StringComparison.Ordinal);
        Assert.Contains("aws", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_auth_provider_user_is_rejected()
    {
        var error = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: https://k8s.example", "auth-provider:\n  name: gcp")));
        Assert.Contains("auth-provider \"gcp\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_base64_names_the_field_and_the_entry()
    {
        var error = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: https://k8s.example\ncertificate-authority-data: '%%%not base64'", "token: t")));
        Assert.Contains("cluster \"dev-cluster\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("certificate-authority-data is not valid base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_that_is_not_a_certificate_is_an_error()
    {
        var error = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig($"server: https://k8s.example\ncertificate-authority-data: {TestCertificates.Base64("hello")}", "token: t")));
        Assert.Contains("no PEM certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_names_the_path()
    {
        var path = Path.Combine(_dir.Path, "nope", "config");
        var error = Assert.Throws<KubeConfigException>(() => new KubeConfigLoader().LoadKubeConfig(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_referenced_files_and_half_client_credentials_are_errors()
    {
        var caMissing = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: https://k8s.example\ncertificate-authority: ca.crt", "token: t")));
        Assert.Contains(Path.Combine(_dir.Path, "ca.crt"), caMissing.Message, StringComparison.Ordinal);

        var tokenMissing = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: https://k8s.example", "tokenFile: token")));
        Assert.Contains("tokenFile", tokenMissing.Message, StringComparison.Ordinal);

        using var client = TestCertificates.CreateClient("carol", rsa: false);
        var keyOnly = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: https://k8s.example", $"client-key-data: {TestCertificates.Base64(TestCertificates.ToPem(client).Key)}")));
        Assert.Contains("no client certificate", keyOnly.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_is_not_an_http_url_and_insecure_with_a_ca_are_errors()
    {
        Assert.Contains("not an http:// or https:// URL", Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig("server: ftp://k8s", "token: t"))).Message, StringComparison.Ordinal);
        using var ca = TestCertificates.CreateCa();
        var both = Assert.Throws<KubeConfigException>(() => LoadFile(KubeConfig(
            $"server: https://k8s\ninsecure-skip-tls-verify: true\ncertificate-authority-data: {TestCertificates.Base64(ca.ExportCertificatePem())}", "token: t")));
        Assert.Contains("insecure-skip-tls-verify", both.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_is_an_error_naming_the_file()
    {
        var error = Assert.Throws<KubeConfigException>(() => LoadFile("clusters: [\n  - {"));
        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_order_is_explicit_path_then_KUBECONFIG_then_home_then_in_cluster()
    {
        var explicitPath = _dir.Write("explicit/config", KubeConfig("server: http://explicit:1", "token: t"));
        var envPath = _dir.Write("env/config", KubeConfig("server: http://env:1", "token: t"));
        _dir.Write("home/.kube/config", KubeConfig("server: http://home:1", "token: t"));
        var serviceAccount = Path.Combine(_dir.Path, "sa");
        _dir.Write("sa/token", "sa-token");
        var environment = new Dictionary<string, string?>
        {
            ["KUBECONFIG"] = $"{Path.Combine(_dir.Path, "missing")}{Path.PathSeparator}{envPath}",
            ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1",
            ["KUBERNETES_SERVICE_PORT"] = "443",
        };
        KubeConfigLoader Loader(string home) => new()
        {
            GetEnvironmentVariable = name => environment.GetValueOrDefault(name),
            HomeDirectory = home,
            ServiceAccountDirectory = serviceAccount,
        };
        var home = Path.Combine(_dir.Path, "home");

        Assert.Equal("explicit", Loader(home).Load(explicitPath).Server.Host);
        Assert.Equal("env", Loader(home).Load().Server.Host);
        environment["KUBECONFIG"] = null;
        Assert.Equal("home", Loader(home).Load().Server.Host);
        Assert.Equal("10.96.0.1", Loader(Path.Combine(_dir.Path, "empty-home")).Load().Server.Host);
        environment["KUBERNETES_SERVICE_HOST"] = null;
        var none = Assert.Throws<KubeConfigException>(() => Loader(Path.Combine(_dir.Path, "empty-home")).Load());
        Assert.Contains("No Kubernetes configuration found", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KUBECONFIG_naming_no_existing_file_and_a_missing_explicit_path_are_errors()
    {
        var loader = new KubeConfigLoader { GetEnvironmentVariable = name => name == "KUBECONFIG" ? "/nonexistent/a:/nonexistent/b" : null };
        Assert.Contains("KUBECONFIG", Assert.Throws<KubeConfigException>(() => loader.Load()).Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/x", Assert.Throws<KubeConfigException>(() => loader.Load("/nonexistent/x")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_cluster_configuration_reads_the_service_account_directory_and_environment()
    {
        using var ca = TestCertificates.CreateCa();
        _dir.Write("sa/token", "sa-token\n");
        _dir.Write("sa/ca.crt", ca.ExportCertificatePem());
        _dir.Write("sa/namespace", "operators\n");
        var loader = new KubeConfigLoader
        {
            GetEnvironmentVariable = name => name switch
            {
                "KUBERNETES_SERVICE_HOST" => "fd00:10:96::1",
                "KUBERNETES_SERVICE_PORT" => "443",
                _ => null,
            },
            ServiceAccountDirectory = Path.Combine(_dir.Path, "sa"),
        };

        Assert.True(loader.IsInCluster());
        var config = loader.LoadInCluster();
        Assert.Equal("https", config.Server.Scheme);
        Assert.Equal("[fd00:10:96::1]", config.Server.Host);
        Assert.Equal(443, config.Server.Port);
        Assert.Equal("operators", config.Namespace);
        Assert.Equal("sa-token", config.AccessToken);
        Assert.Equal(Path.Combine(_dir.Path, "sa", "token"), config.TokenFile);
        Assert.Equal(ca.Thumbprint, Assert.Single(config.CertificateAuthorities!).Thumbprint);
        Assert.Equal("in-cluster service account", config.Source);
    }

    [Fact]
    public void In_cluster_without_namespace_file_uses_default_and_without_environment_fails()
    {
        _dir.Write("sa/token", "t");
        var environment = new Dictionary<string, string?> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", ["KUBERNETES_SERVICE_PORT"] = "443" };
        var loader = new KubeConfigLoader { GetEnvironmentVariable = environment.GetValueOrDefault, ServiceAccountDirectory = Path.Combine(_dir.Path, "sa") };
        var config = loader.LoadInCluster();
        Assert.Equal("default", config.Namespace);
        Assert.Equal("https://10.96.0.1/", config.Server.AbsoluteUri);
        Assert.Null(config.CertificateAuthorities);

        environment.Clear();
        Assert.False(loader.IsInCluster());
        Assert.Contains("KUBERNETES_SERVICE_HOST", Assert.Throws<KubeConfigException>(loader.LoadInCluster).Message, StringComparison.Ordinal);
    }
}
