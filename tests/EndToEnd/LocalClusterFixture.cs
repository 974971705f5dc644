using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The local cluster (hack/local-cluster.sh up, state in .local/e2e-cluster), the CRD, and the
/// operator running as its own process against the cluster's kubeconfig, shared by the tests of a
/// class. Needs root: without it every test fails with one clear message. The budgets (seconds of
/// <c>up</c>) go to the test output.
/// </summary>
public sealed class LocalClusterFixture(IMessageSink sink) : IAsyncLifetime
{
    private Process? _operator;
    private bool _down;

    /// <summary>The cluster's state directory.</summary>
    public string StateDir { get; } = Path.Combine(Shell.Root, ".local", "e2e-cluster");

    /// <summary>The kubeconfig of the cluster.</summary>
    public string Kubeconfig { get; private set; } = "";

    /// <summary>http://127.0.0.1:port of the Ingress controller.</summary>
    public Uri IngressUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>https://127.0.0.1:port of the Ingress controller.</summary>
    public Uri IngressHttpsUrl { get; private set; } = new("https://127.0.0.1/");

    /// <summary>Seconds <c>hack/local-cluster.sh up</c> took.</summary>
    public double UpSeconds { get; private set; }

    /// <summary>The operator's log file.</summary>
    public string OperatorLog => Path.Combine(StateDir, "operator.log");

    private static string Script => Path.Combine(Shell.Root, "hack", "local-cluster.sh");

    private Dictionary<string, string> Env => new() { ["LOCAL_CLUSTER_DIR"] = StateDir, ["LOCAL_CLUSTER_NO_BUILD"] = "1" };

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
        var up = await Shell.RunAsync(Script, ["up"], TimeSpan.FromMinutes(10), Env);
        UpSeconds = watch.Elapsed.TotalSeconds;
        if (up.ExitCode != 0) throw new InvalidOperationException($"hack/local-cluster.sh up failed:\n{up.Transcript}");
        Report($"budget: hack/local-cluster.sh up took {UpSeconds:0.0} s (budget 30 s)");

        var env = await Shell.RunAsync(Script, ["env"], TimeSpan.FromSeconds(30), Env);
        foreach (var line in env.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (line["export ".Length..line.IndexOf('=', StringComparison.Ordinal)], line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim('\''));
            if (name == "KUBECONFIG") Kubeconfig = value;
            if (name == "INGRESS_URL") IngressUrl = new Uri(value);
            if (name == "INGRESS_HTTPS_URL") IngressHttpsUrl = new Uri(value);
        }
        Assert.True(File.Exists(Kubeconfig), env.Transcript);

        var crd = await KubectlAsync("apply", "-f", "config/crd/userapi.example.com_userapis.yaml");
        Assert.True(crd.ExitCode == 0, crd.Transcript);

        // The operator as a process of its own, from the build output (what `dotnet run` would start).
        var bin = Path.Combine(Shell.Root, "src", "Operator", "bin", "Debug", "net10.0");
        var runtimeConfig = Directory.GetFiles(bin, "*.runtimeconfig.json").Single();
        var dll = runtimeConfig.Replace(".runtimeconfig.json", ".dll", StringComparison.Ordinal);
        var info = Shell.StartInfo("dotnet", [dll, "--kubeconfig", Kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0"]);
        _operator = Process.Start(info)!;
        var log = new StreamWriter(OperatorLog, append: true) { AutoFlush = true };
        _operator.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (log) log.WriteLine(l); };
        _operator.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (log) log.WriteLine(l); };
        _operator.BeginOutputReadLine();
        _operator.BeginErrorReadLine();
        _operator.StandardInput.Close();
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_operator is { HasExited: false })
        {
            _operator.Kill(entireProcessTree: true);
            await _operator.WaitForExitAsync();
        }
        _operator?.Dispose();
        if (!_down) await DownAsync();
    }

    /// <summary>True while the operator process runs.</summary>
    public bool OperatorRunning => _operator is { HasExited: false };

    /// <summary>Stops the operator and runs <c>hack/local-cluster.sh down</c>.</summary>
    public async Task<Result> DownAsync()
    {
        if (_operator is { HasExited: false })
        {
            _operator.Kill(entireProcessTree: true);
            await _operator.WaitForExitAsync();
        }
        _down = true;
        return await Shell.RunAsync(Script, ["down"], TimeSpan.FromMinutes(1), Env);
    }

    /// <summary>kubectl against the cluster.</summary>
    public Task<Result> KubectlAsync(params string[] args) =>
        Shell.RunAsync("kubectl", args, TimeSpan.FromSeconds(60), new Dictionary<string, string> { ["KUBECONFIG"] = Kubeconfig });

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
