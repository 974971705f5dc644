using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The local cluster (hack/local-cluster.sh up, state in .local/e2e-cluster), shared by the tests
/// of a class and brought down after them. Needs root: without it every test fails with one clear
/// message. The budgets (seconds of <c>up</c>) go to the test output. <see cref="OperatorClusterFixture"/>
/// installs the operator in it as users do.
/// </summary>
public class LocalClusterFixture(IMessageSink sink) : IAsyncLifetime
{
    private bool _down;

    /// <summary>The cluster's state directory.</summary>
    public string StateDir { get; } = Path.Combine(Shell.Root, ".local", "e2e-cluster");

    /// <summary>The kubeconfig of the cluster (the administrator's).</summary>
    public string Kubeconfig { get; private set; } = "";

    /// <summary>http://127.0.0.1:port of the Ingress controller.</summary>
    public Uri IngressUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>https://127.0.0.1:port of the Ingress controller.</summary>
    public Uri IngressHttpsUrl { get; private set; } = new("https://127.0.0.1/");

    /// <summary>Seconds <c>hack/local-cluster.sh up</c> took.</summary>
    public double UpSeconds { get; private set; }

    /// <summary>The API server's audit log: one JSON line per request, with its user (<c>local-cluster apiserver --audit-log-path</c>).</summary>
    public string AuditLog => Path.Combine(StateDir, "audit.log");

    private static string Script => Path.Combine(Shell.Root, "hack", "local-cluster.sh");

    /// <summary>Nodes of the cluster (<c>hack/local-cluster.sh up --nodes</c>); 1 unless a fixture says otherwise.</summary>
    public virtual int Nodes => 1;

    /// <summary>More environment for <c>hack/local-cluster.sh</c> (e.g. the controller manager's settings).</summary>
    protected virtual IReadOnlyDictionary<string, string> ClusterEnvironment => new Dictionary<string, string>();

    private Dictionary<string, string> Env => new(ClusterEnvironment) { ["LOCAL_CLUSTER_DIR"] = StateDir, ["LOCAL_CLUSTER_NO_BUILD"] = "1" };

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        if (!Shell.IsRoot)
        {
            throw new InvalidOperationException("The end-to-end tests need root: the local cluster makes network namespaces (CI runs them as root; locally: sudo dotnet test tests/EndToEnd).");
        }
        var status = await Shell.RunAsync(Script, ["status"], TimeSpan.FromSeconds(30));
        if (status.ExitCode == 0)
        {
            throw new InvalidOperationException($"a local cluster is up ({status.Output.Trim()}); the tests need the bridge and the Pod namespaces to themselves: hack/local-cluster.sh down");
        }

        var watch = Stopwatch.StartNew();
        // up loads the images first; on a fresh machine that includes building the stand-in images (minutes).
        var up = await Shell.RunAsync(Script, ["up", "--nodes", Nodes.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(10), Env);
        UpSeconds = watch.Elapsed.TotalSeconds;
        if (up.ExitCode != 0) throw new InvalidOperationException($"hack/local-cluster.sh up failed:\n{up.Transcript}");
        Report($"budget: hack/local-cluster.sh up --nodes {Nodes} took {UpSeconds:0.0} s (budget 30 s)");

        var env = await Shell.RunAsync(Script, ["env"], TimeSpan.FromSeconds(30), Env);
        foreach (var line in env.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (line["export ".Length..line.IndexOf('=', StringComparison.Ordinal)], line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim('\''));
            if (name == "KUBECONFIG") Kubeconfig = value;
            if (name == "INGRESS_URL") IngressUrl = new Uri(value);
            if (name == "INGRESS_HTTPS_URL") IngressHttpsUrl = new Uri(value);
        }
        Assert.True(File.Exists(Kubeconfig), env.Transcript);
        await InstallAsync();
    }

    /// <summary>What the fixture installs once the cluster is up; nothing here.</summary>
    protected virtual Task InstallAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (!_down) await DownAsync();
    }

    /// <summary>Runs <c>hack/local-cluster.sh down</c> (once; later calls run it again, which finds nothing to do).</summary>
    public async Task<Result> DownAsync()
    {
        _down = true;
        return await Shell.RunAsync(Script, ["down"], TimeSpan.FromMinutes(1), Env);
    }

    /// <summary>kubectl against the cluster.</summary>
    public Task<Result> KubectlAsync(params string[] args) =>
        Shell.RunAsync("kubectl", args, TimeSpan.FromSeconds(60), KubectlEnv);

    /// <summary>kubectl against the cluster with <paramref name="stdin"/> on its standard input.</summary>
    public Task<Result> KubectlWithInputAsync(string stdin, params string[] args) =>
        Shell.RunAsync("kubectl", args, TimeSpan.FromSeconds(60), KubectlEnv, stdin);

    /// <summary>
    /// kubectl's environment: the cluster's kubeconfig, and a discovery and OpenAPI cache of this
    /// cluster's own (<c>KUBECACHEDIR</c>, in the state directory, which <c>down</c> empties), as
    /// <c>hack/local-cluster.sh env</c> sets it. The shared ~/.kube/cache is keyed by host and port
    /// only, and the many API servers that tests on this machine start on loopback reuse ports, so
    /// kubectl could trust discovery documents another server left there (it keeps them for hours).
    /// </summary>
    private Dictionary<string, string> KubectlEnv => new()
    {
        ["KUBECONFIG"] = Kubeconfig,
        ["KUBECACHEDIR"] = Path.Combine(StateDir, "kubectl-cache"),
    };

    /// <summary><c>kubectl get ... -o json</c>, parsed; throws with kubectl's output when it fails.</summary>
    public async Task<JsonNode> GetJsonAsync(params string[] args)
    {
        var r = await KubectlAsync([.. args, "-o", "json"]);
        if (r.ExitCode != 0) throw new InvalidOperationException(r.Transcript);
        return JsonNode.Parse(r.Output)!;
    }

    /// <summary>
    /// A line for the test output (xunit diagnostic messages: dotnet test shows them from console
    /// verbosity normal up) and for <c>.local/e2e-cluster/budgets.log</c>, which outlives the run.
    /// </summary>
    public void Report(string line)
    {
        sink.OnMessage(new DiagnosticMessage($"EndToEnd: {line}"));
        File.AppendAllText(Path.Combine(StateDir, "budgets.log"), $"{DateTime.UtcNow:u} {line}\n");
    }
}
