using System.Net;

namespace KubeApiFake.Tests;

/// <summary>
/// kubectl against the fake with authorisation and TLS on. client-go reads a kubeconfig's user
/// (token, certificates, exec plugins) only for an https server, so kubectl sends no token over
/// plain HTTP: these tests need <see cref="FakeKubeApiServerOptions.UseTls"/>.
/// </summary>
public sealed class KubectlAuthorizationTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => new() { EnableAuthorization = true, UseTls = true };

    [Fact]
    public async Task Https_serves_with_a_certificate_the_kubeconfig_and_the_clients_trust()
    {
        Assert.Equal("https", Api.BaseAddress.Scheme);
        var (code, _) = await Http.GetJsonAsync("/api/v1/namespaces");
        Assert.Equal(HttpStatusCode.OK, code);

        var pem = Api.CertificateAuthorityPem!;
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", pem, StringComparison.Ordinal);
        Assert.Contains($"certificate-authority-data: {Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(pem))}", Api.KubeconfigYaml(), StringComparison.Ordinal);

        // A client that does not trust the certificate cannot talk to it.
        using var untrusting = new HttpClient { BaseAddress = Api.BaseAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri("/version", UriKind.Relative)));
    }

    [Fact]
    public async Task Kubectl_applies_rbac_objects_and_reports_a_denial_as_the_real_server_words_it()
    {
        var dir = Directory.CreateTempSubdirectory("kubeapifake-kubectl-");
        try
        {
            var admin = Path.Combine(dir.FullName, "admin.yaml");
            var sa = Path.Combine(dir.FullName, "sa.yaml");
            var manifest = Path.Combine(dir.FullName, "rbac.yaml");
            await File.WriteAllTextAsync(admin, Api.KubeconfigYaml());
            await File.WriteAllTextAsync(sa, Api.KubeconfigYaml("default", Api.IssueServiceAccountToken("default", "reader")));
            await File.WriteAllTextAsync(manifest, """
                apiVersion: v1
                kind: ServiceAccount
                metadata:
                  name: reader
                  namespace: default
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: Role
                metadata:
                  name: cm-reader
                  namespace: default
                rules:
                - apiGroups: [""]
                  resources: ["configmaps"]
                  verbs: ["get", "list"]
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: RoleBinding
                metadata:
                  name: reader
                  namespace: default
                roleRef:
                  apiGroup: rbac.authorization.k8s.io
                  kind: Role
                  name: cm-reader
                subjects:
                - kind: ServiceAccount
                  name: reader
                  namespace: default
                """);

            var applied = await KubectlAsync(admin, "apply", "-f", manifest);
            Assert.True(applied.ExitCode == 0, applied.Output);
            Assert.Contains("role.rbac.authorization.k8s.io/cm-reader created", applied.Output, StringComparison.Ordinal);
            var reapplied = await KubectlAsync(admin, "apply", "-f", manifest);
            Assert.True(reapplied.ExitCode == 0, reapplied.Output);

            var listed = await KubectlAsync(sa, "get", "configmaps");
            Assert.True(listed.ExitCode == 0, listed.Output);
            var denied = await KubectlAsync(sa, "get", "secrets");
            Assert.NotEqual(0, denied.ExitCode);
            Assert.Contains(
                "Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\"",
                denied.Output, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> KubectlAsync(string kubeconfig, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add($"--kubeconfig={kubeconfig}");
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
