using System.Diagnostics;
using System.Text;

namespace KubeApiFake.Tests;

/// <summary>
/// Real kubectl against a running <c>local-cluster apiserver</c> process (HTTPS, bearer token), for
/// what the README and the quick start show: apply of the CRD and the sample with client-side
/// validation, get with printer columns and the short name, describe with Events, scale (custom
/// resource and Deployment), explain, get/describe pod, delete, and a clean stop on SIGTERM.
/// </summary>
public sealed class LocalClusterKubectlTests : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly string _stateDir = Path.Combine(Path.GetTempPath(), "local-cluster-test-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly StringBuilder _serverLog = new();
    private Process _server = null!;
    private MetricsBackend _metrics = null!;

    private string Kubeconfig => Path.Combine(_stateDir, "kubeconfig");

    public async Task InitializeAsync()
    {
        var node = new k8s.Models.V1Node { Metadata = new k8s.Models.V1ObjectMeta { Name = "n1" } };
        _metrics = await MetricsBackend.StartAsync(() => ([], [node]));
        _metrics.Metrics.Set(new LocalCluster.Metrics.NodeUsage("n1", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15), 500, 1L << 30));
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                LocalClusterDll(), "apiserver", "--state-dir", _stateDir, "--advertise-address", "127.0.0.2", "--node-name", "n1",
                "--metrics-backend", $"127.0.0.1:{_metrics.Port}", "--verbose",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _server = Process.Start(start)!;
        _server.ErrorDataReceived += (_, e) =>
        {
            lock (_serverLog) _serverLog.AppendLine(e.Data);
        };
        _server.BeginErrorReadLine();
        _server.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(Kubeconfig))
        {
            Assert.False(_server.HasExited, $"local-cluster apiserver exited early: {ServerLog()}");
            Assert.True(DateTime.UtcNow < deadline, $"no kubeconfig after 60 s: {ServerLog()}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (!_server.HasExited)
        {
            _server.Kill();
            await _server.WaitForExitAsync();
        }
        _server.Dispose();
        await _metrics.DisposeAsync();
        Directory.Delete(_stateDir, recursive: true);
    }

    [Fact]
    public async Task Metrics_backend_registers_metrics_k8s_io_for_kubectl_top()
    {
        await KubectlAsync(["apply", "-f", "-"], stdin: """
            apiVersion: v1
            kind: Node
            metadata: {name: n1}
            """);

        Assert.Matches(@"\nv1beta1\.metrics\.k8s\.io\s+kube-system/metrics-server\s+True\s", await KubectlAsync("get", "apiservices"));
        // A Node that reports no allocatable gets no percentages.
        Assert.Matches(@"\nn1\s+500m\s+1024Mi$", await KubectlAsync("top", "nodes"));
        Assert.Contains(_metrics.Received, r => r.Path == "/apis/metrics.k8s.io/v1beta1/nodes" && r.Headers["X-Remote-User"] == "kubernetes-admin");
    }

    [Fact]
    public async Task Quick_start_commands_work_with_real_kubectl()
    {
        Assert.Contains("customresourcedefinition.apiextensions.k8s.io/userapis.userapi.example.com created",
            await KubectlAsync("apply", "-k", RepositoryPath("config/crd")));
        Assert.Contains("userapi.userapi.example.com/userapi-sample created",
            await KubectlAsync("apply", "--validate=strict", "-f", RepositoryPath("config/samples/userapi.yaml")));

        // Printer columns of the CRD, by plural and by short name.
        var table = await KubectlAsync("get", "userapis");
        Assert.Matches(@"^NAME\s+READY\s+REPLICAS\s+DESIRED\s+URL\s+AGE\n", table);
        Assert.Matches(@"(?m)^userapi-sample\s+3\s+[0-9]+s$", table);
        Assert.Matches(@"^NAME\s+READY", await KubectlAsync("get", "uapi"));

        // The autoscaling sample passes the same strict validation; the short names of its children
        // resolve through discovery (an unknown one exits 1: "the server doesn't have a resource type").
        Assert.Contains("userapi.userapi.example.com/userapi-autoscaling created",
            await KubectlAsync("apply", "--validate=strict", "-f", RepositoryPath("config/samples/userapi-autoscaling.yaml")));
        Assert.Equal("", await KubectlAsync("get", "hpa,pdb,netpol", "-o", "name"));

        // Validation is on: an unknown field is refused by kubectl's strict field validation.
        var invalid = await KubectlAsync(["apply", "-f", "-"], expectFailure: true, stdin: """
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: bad}
            spec: {replicaz: 2}
            """);
        Assert.Contains("replicaz", invalid, StringComparison.Ordinal);

        // scale (the CRD's scale subresource), then the printed DESIRED column follows.
        Assert.Contains("userapi.userapi.example.com/userapi-sample scaled", await KubectlAsync("scale", "userapi", "userapi-sample", "--replicas=5"));
        Assert.Equal("5", await KubectlAsync("get", "userapi", "userapi-sample", "-o", "jsonpath={.spec.replicas}"));

        // describe shows the object's Events (an Event as the operator records it).
        var uid = await KubectlAsync("get", "userapi", "userapi-sample", "-o", "jsonpath={.metadata.uid}");
        await KubectlAsync(["apply", "-f", "-"], stdin: $$"""
            apiVersion: v1
            kind: Event
            metadata: {name: userapi-sample.reconciled}
            involvedObject: {apiVersion: userapi.example.com/v1alpha1, kind: UserApi, name: userapi-sample, namespace: default, uid: {{uid}}}
            reason: Created
            message: created Deployment userapi-sample
            type: Normal
            source: {component: userapi-operator}
            firstTimestamp: "{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}"
            lastTimestamp: "{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}"
            count: 1
            """);
        var described = await KubectlAsync("describe", "userapi", "userapi-sample");
        Assert.Contains("Name:         userapi-sample", described, StringComparison.Ordinal);
        Assert.Matches(@"Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message", described);
        Assert.Matches(@"Normal\s+Created\s+.*userapi-operator\s+created Deployment userapi-sample", described);

        var explained = await KubectlAsync("explain", "userapi.spec");
        Assert.Contains("KIND:       UserApi", explained, StringComparison.Ordinal);
        Assert.Contains("FIELD: spec <Object>", explained, StringComparison.Ordinal);
        Assert.Contains("replicas\t<integer>", explained, StringComparison.Ordinal);

        Assert.Contains("userapi.userapi.example.com \"userapi-sample\" deleted", await KubectlAsync("delete", "-f", RepositoryPath("config/samples/userapi.yaml")));
        Assert.Contains("userapi.userapi.example.com \"userapi-autoscaling\" deleted", await KubectlAsync("delete", "-f", RepositoryPath("config/samples/userapi-autoscaling.yaml")));
        Assert.Equal("", await KubectlAsync("get", "userapis", "-o", "name"));
    }

    [Fact]
    public async Task Every_sample_applies_with_strict_validation_and_a_cel_violation_is_refused()
    {
        await KubectlAsync("apply", "-k", RepositoryPath("config/crd"));
        foreach (var sample in Directory.GetFiles(RepositoryPath("config/samples"), "*.yaml").Order(StringComparer.Ordinal))
        {
            Assert.Contains(" created", await KubectlAsync("apply", "--validate=strict", "-f", sample), StringComparison.Ordinal);
        }

        // The CRD's x-kubernetes-validations, enforced by the server: kubectl prints its 422 message.
        var refused = await KubectlAsync(["apply", "-f", "-"], expectFailure: true, stdin: """
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: bad-tls}
            spec: {ingress: {tlsSecretName: users-tls}}
            """);
        Assert.Contains("spec.ingress.host: Required value: tlsSecretName needs a host", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("userapi/bad-tls", await KubectlAsync("get", "userapis", "-o", "name"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pods_and_deployments_print_and_scale_like_a_cluster()
    {
        await KubectlAsync(["apply", "-f", "-"], stdin: """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 1
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: "nginx:1.27"}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-1, labels: {app: web}}
            spec: {containers: [{name: web, image: "nginx:1.27"}]}
            """);
        Assert.Contains("deployment.apps/web scaled", await KubectlAsync("scale", "deployment", "web", "--replicas=3"));
        Assert.Matches(@"^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0/3\s+0\s+0\s+", await KubectlAsync("get", "deployments"));

        Assert.Matches(@"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb-1\s+0/1\s+Pending\s+0\s+", await KubectlAsync("get", "pods"));
        // What the kubelet reports through pods/status shows in get and describe.
        await KubectlAsync("patch", "pod", "web-1", "--subresource=status", "--type=merge", "-p",
            """{"status":{"phase":"Running","podIP":"10.244.0.7","containerStatuses":[{"name":"web","image":"nginx:1.27","imageID":"","ready":true,"restartCount":0,"started":true,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}""");
        Assert.Matches(@"\nweb-1\s+1/1\s+Running\s+0\s+", await KubectlAsync("get", "pods"));
        var described = await KubectlAsync("describe", "pod", "web-1");
        Assert.Matches(@"Status:\s+Running", described);
        Assert.Matches(@"IP:\s+10\.244\.0\.7", described);
        Assert.Matches(@"State:\s+Running", described);
        Assert.Matches(@"Ready:\s+True", described);
        Assert.Contains("pod \"web-1\" deleted", await KubectlAsync("delete", "pod", "web-1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pods_reach_the_advertised_address_and_the_kubelet_has_a_node_credential()
    {
        // The kubernetes Service's Endpoints: the advertised address and the serving port.
        var port = new Uri((await KubectlAsync("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"))).Port;
        Assert.Equal($"127.0.0.2:{port}", await KubectlAsync("get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"));
        Assert.Equal("10.96.0.1", await KubectlAsync("get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"));
        var ca = await File.ReadAllTextAsync(Path.Combine(_stateDir, "ca.crt"));
        Assert.Equal(ca, await KubectlAsync("get", "configmap", "kube-root-ca.crt", "-o", "jsonpath={.data.ca\\.crt}") + "\n");

        // There, with ca.crt alone, as a Pod's client is configured (and no other CA trusted).
        var inCluster = Path.Combine(_stateDir, "in-cluster-kubeconfig");
        var token = (await File.ReadAllTextAsync(Path.Combine(_stateDir, "token"))).Trim();
        var caFile = Path.Combine(_stateDir, "ca.crt");
        await File.WriteAllTextAsync(inCluster, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "https://127.0.0.2:{{{port}}}", certificate-authority: "{{{caFile}}}"}}]
            contexts: [{name: c, context: {cluster: c, user: u}}]
            current-context: c
            users: [{name: u, user: {token: "{{{token}}}"}}]
            """);
        Assert.Equal("namespace/default", await KubectlAsync("--kubeconfig", inCluster, "get", "namespace", "default", "-o", "name"));

        // The kubelet's own credential: its Node, but no Secrets of others.
        var kubelet = Path.Combine(_stateDir, "kubelet.kubeconfig");
        Assert.True(File.Exists(kubelet));
        await KubectlAsync(["--kubeconfig", kubelet, "apply", "-f", "-"], stdin: """
            apiVersion: v1
            kind: Node
            metadata: {name: n1}
            """);
        Assert.Matches(@"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nn1\s+Unknown\s+<none>\s+", await KubectlAsync("--kubeconfig", kubelet, "get", "nodes"));
        var denied = await KubectlAsync(["--kubeconfig", kubelet, "get", "secret", "anything"], expectFailure: true);
        Assert.Contains("User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\": no relationship found between node 'n1' and this object", denied, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_need_the_token_and_SIGTERM_stops_the_server_with_exit_code_0()
    {
        var token = (await File.ReadAllTextAsync(Path.Combine(_stateDir, "token"))).Trim();
        Assert.Matches("^[0-9a-f]{16,}$", token);
        Assert.Contains($"token: {token}", await File.ReadAllTextAsync(Kubeconfig), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Kubeconfig));

        // kubectl with the wrong token: the server's 401 as kubectl reports it.
        var wrong = Path.Combine(_stateDir, "wrong-kubeconfig");
        await File.WriteAllTextAsync(wrong, (await File.ReadAllTextAsync(Kubeconfig)).Replace(token, "not-the-token", StringComparison.Ordinal));
        var refused = await KubectlAsync(["--kubeconfig", wrong, "get", "namespaces"], expectFailure: true);
        Assert.Contains("You must be logged in to the server", refused, StringComparison.Ordinal);

        Assert.Matches(@"GET /api\S* 401 ", ServerLog());

        using (var kill = Process.Start("kill", ["-TERM", _server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _server.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, _server.ExitCode);
    }

    private string ServerLog()
    {
        lock (_serverLog) return _serverLog.ToString();
    }

    private Task<string> KubectlAsync(params string[] args) => KubectlAsync(args, expectFailure: false);

    /// <summary>Runs kubectl with this server's kubeconfig and a private discovery cache; returns stdout (stderr when it fails as expected), trimmed.</summary>
    private async Task<string> KubectlAsync(string[] args, bool expectFailure = false, string? stdin = null)
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            Environment =
            {
                ["KUBECONFIG"] = Kubeconfig,
                ["KUBECACHEDIR"] = Path.Combine(_stateDir, "kubectl-cache"),
                ["HOME"] = _stateDir,
            },
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await process.WaitForExitAsync(timeout.Token);
        var (output, error) = (await stdout, await stderr);
        if (expectFailure)
        {
            Assert.True(process.ExitCode != 0, $"kubectl {string.Join(' ', args)} succeeded: {output}");
            return error.Trim();
        }
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)} failed ({process.ExitCode}): {error}\nserver: {ServerLog()}");
        return output.Trim();
    }

    private static string RepositoryPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln"))) return Path.Combine(dir.FullName, relative);
        }
        throw new InvalidOperationException($"no UserApiOperator.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>tests/LocalCluster's build output in the tests' own configuration (bin/&lt;configuration&gt;/net10.0).</summary>
    private static string LocalClusterDll()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var path = RepositoryPath(Path.Combine("tests", "LocalCluster", "bin", configuration, "net10.0", "local-cluster.dll"));
        return File.Exists(path) ? path : throw new FileNotFoundException($"build tests/LocalCluster ({configuration}) first", path);
    }
}
