using KubeApiFake;
using Microsoft.Extensions.Logging;
using UserApiOperator.Cli;
using UserApiOperator.Hosting;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// The kubeconfig forms KubernetesClient reads for the operator, against the fake API server:
/// exec credential plugins, <c>--context</c>, and a <c>$KUBECONFIG</c> list.
/// </summary>
public sealed class KubeconfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kubeconfig-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Kubeconfig(string current, params (string Context, string Server, string User)[] contexts) => $"""
        apiVersion: v1
        kind: Config
        current-context: {current}
        clusters:
        {string.Concat(contexts.Select(c => $"- name: {c.Context}\n  cluster:\n    server: {c.Server}\n"))}
        contexts:
        {string.Concat(contexts.Select(c => $"- name: {c.Context}\n  context:\n    cluster: {c.Context}\n    user: {c.User}\n"))}
        users:
        {string.Concat(contexts.Select(c => $"- name: {c.User}\n  user:\n    token: {c.User}-token\n"))}
        """;

    [Fact]
    public async Task An_exec_credential_plugin_is_run_and_the_operator_reconciles_with_it()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        await api.ApplyAsync(CrdCommand.Render());
        var runs = Path.Combine(_dir, "plugin-runs.log");
        var plugin = Write("credential-plugin.sh", $$$"""
            #!/bin/sh
            echo "$KUBERNETES_EXEC_INFO" >> '{{{runs}}}'
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-the-plugin"}}'

            """);
#pragma warning disable CA1416 // The tests run on Linux (hack/test.sh); the plugin is a shell script.
        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
#pragma warning restore CA1416
        var kubeconfig = Write("exec.yaml", $$"""
            apiVersion: v1
            kind: Config
            current-context: fake
            clusters:
            - name: fake
              cluster:
                server: {{api.BaseAddress.GetLeftPart(UriPartial.Authority)}}
            contexts:
            - name: fake
              context: {cluster: fake, user: plugin}
            users:
            - name: plugin
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: {{plugin}}
                  interactiveMode: Never

            """);

        var configuration = OperatorHost.LoadConfiguration(kubeconfig, context: null, kubeconfigVariable: null);
        using var host = OperatorHost.Build(new OperatorOptions { HealthProbeBindAddress = "0", MetricsBindAddress = "0" }, configuration, l => l.ClearProviders());
        await host.StartAsync();
        try
        {
            await api.ApplyAsync(await File.ReadAllTextAsync(Repository.PathOf("config/samples/userapi.yaml")));
            await api.WaitForObjectAsync(KnownResources.Ingresses, "default", "userapi-sample", null, LiveOperator.Timeout);
        }
        finally
        {
            await host.StopAsync();
        }

        // KubernetesClient runs the plugin and passes it the ExecCredential request in $KUBERNETES_EXEC_INFO.
        var lines = await File.ReadAllLinesAsync(runs);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Contains("client.authentication.k8s.io/v1", l, StringComparison.Ordinal));
        Assert.Contains(api.Requests, r => r.UserAgent?.StartsWith("userapi-operator/", StringComparison.Ordinal) == true && r.IsWatch);
    }

    [Fact]
    public void Context_overrides_the_current_context()
    {
        var path = Write("two.yaml", Kubeconfig("one", ("one", "https://one.example:6443", "alice"), ("two", "https://two.example:6443", "bob")));

        Assert.Equal("https://one.example:6443", OperatorHost.LoadConfiguration(path, null, null).Host.TrimEnd('/'));
        var two = OperatorHost.LoadConfiguration(path, "two", null);
        Assert.Equal(("https://two.example:6443", "bob-token"), (two.Host.TrimEnd('/'), two.AccessToken));
        Assert.ThrowsAny<Exception>(() => OperatorHost.LoadConfiguration(path, "three", null));
    }

    [Fact]
    public void A_KUBECONFIG_list_is_merged_and_the_first_file_wins()
    {
        var first = Write("first.yaml", Kubeconfig("one", ("one", "https://one.example:6443", "alice")));
        var second = Write("second.yaml", Kubeconfig("two", ("two", "https://two.example:6443", "bob"), ("one", "https://shadowed.example:6443", "carol")));
        var list = string.Join(Path.PathSeparator, first, second);

        Assert.Equal("https://one.example:6443", OperatorHost.LoadConfiguration(null, null, list).Host.TrimEnd('/'));
        Assert.Equal("https://two.example:6443", OperatorHost.LoadConfiguration(null, "two", list).Host.TrimEnd('/'));
        Assert.Equal("https://one.example:6443", OperatorHost.LoadConfiguration(null, null, first).Host.TrimEnd('/'));
    }

    [Fact]
    public void A_kubeconfig_file_is_read_as_KubernetesClient_reads_it()
    {
        // Every field family KubernetesClient's model holds: certificates by path and inline, tokens,
        // basic auth, impersonation, an auth provider, an exec plugin with env and args, extensions,
        // preferences, a YAML merge key and a field neither knows.
        var path = Write("rich.yaml", """
            apiVersion: v1
            kind: Config
            preferences: {colors: true}
            current-context: exec
            defaults: &cluster
              server: https://one.example:6443
              insecure-skip-tls-verify: false
            clusters:
            - name: one
              cluster:
                <<: *cluster
                certificate-authority: certs/ca.crt
                tls-server-name: api.one.example
                extensions:
                - name: client.authentication.k8s.io/exec
                  extension: {audience: one}
            - name: two
              cluster: {server: "https://two.example:6443", certificate-authority-data: "Zm9v"}
            contexts:
            - name: exec
              context: {cluster: one, user: plugin, namespace: apps}
            - name: certs
              context: {cluster: two, user: alice}
            users:
            - name: plugin
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: /usr/local/bin/credential-helper
                  args: [token, --cluster, one]
                  env: [{name: REGION, value: eu-west-1}]
                  interactiveMode: Never
                  provideClusterInfo: true
            - name: alice
              user:
                client-certificate: certs/alice.crt
                client-key: certs/alice.key
                as: bob
                as-groups: [admins]
                as-user-extra: {reason: audit}
            - name: oidc
              user:
                auth-provider: {name: oidc, config: {idp-issuer-url: "https://issuer.example"}}
                username: u
                password: p
                token: t
            unknown-top-level-field: 1
            """);

        var ours = KubeconfigFile.Load(path);
        var theirs = k8s.KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(path));

        Assert.Equal(path, ours.FileName);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(theirs), System.Text.Json.JsonSerializer.Serialize(ours));
        Assert.Equal("https://one.example:6443", ours.Clusters.First().ClusterEndpoint.Server);
        Assert.Equal(["token", "--cluster", "one"], ours.Users.First().UserCredentials.ExternalExecution.Arguments);
    }

    [Fact]
    public void A_missing_empty_or_malformed_kubeconfig_file_is_a_KubeConfigException_naming_it()
    {
        var missing = Path.Combine(_dir, "missing.yaml");
        var empty = Write("empty.yaml", "");
        var malformed = Write("malformed.yaml", "apiVersion: v1\nclusters: {name: not-a-list}\n");

        Assert.Contains(missing, Assert.Throws<k8s.Exceptions.KubeConfigException>(() => OperatorHost.LoadConfiguration(missing, null, null)).Message, StringComparison.Ordinal);
        Assert.Contains(empty, Assert.Throws<k8s.Exceptions.KubeConfigException>(() => OperatorHost.LoadConfiguration(empty, null, null)).Message, StringComparison.Ordinal);
        var error = Assert.Throws<k8s.Exceptions.KubeConfigException>(() => OperatorHost.LoadConfiguration(malformed, null, null)).Message;
        Assert.Contains(malformed, error, StringComparison.Ordinal);
        Assert.Contains("Line: 2", error, StringComparison.Ordinal);
    }
}
