using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeApiFake;
using UserApiOperator.Cli;
using k8s;

namespace UserApiOperator.Bench;

/// <summary>
/// One run of the benchmark against one operator build: a fresh in-process fake API server, a
/// simulated Deployment controller, the real operator process (optionally in a memory cgroup), then
/// the phases: no UserApi, N created by 16 clients until all are Ready, idle across forced resyncs,
/// watch ends as their timeout ends them, watch ends without a last event.
/// </summary>
internal sealed partial class OperatorRun(BenchOptions options, string operatorDll, string label)
{
    private const string Namespace = "bench";
    private const string UserAgent = "userapi-operator";

    /// <summary>How long the creation phase waits without one more UserApi becoming Ready before it gives up.</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromMinutes(2);

    /// <summary>The kinds a UserApi owns, as the API server serves them.</summary>
    private static readonly GroupVersionResource[] OwnedKinds =
    [
        KnownResources.Secrets, KnownResources.Deployments, KnownResources.Services, KnownResources.Ingresses,
        KnownResources.HorizontalPodAutoscalers, KnownResources.PodDisruptionBudgets, KnownResources.NetworkPolicies,
    ];

    private static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");

    private Process _process = null!;
    private FakeKubeApiServer _api = null!;
    private int _informers;

    public async Task<RunFigures> RunAsync()
    {
        var figures = new RunFigures { Operator = operatorDll };
        var inCluster = options.InCluster;
        await using var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { RequestLogLimit = 5_000_000, HistoryLimit = 100_000, UseTls = inCluster });
        _api = api;
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"operator-bench-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(kubeconfig, api.KubeconfigYaml(Namespace));
        await api.ApplyAsync(CrdCommand.Render());

        using var stop = new CancellationTokenSource();
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var simulator = Task.Run(() => new DeploymentControllerSimulator(client, api).RunAsync(stop.Token));

        using var cgroup = options.MemoryLimit is { } limit ? MemoryCgroup.Create($"userapi-operator-bench-{Environment.ProcessId}-{label}", limit) : null;
        figures.Log = Path.Combine(Path.GetTempPath(), $"operator-bench-{label}-{Guid.NewGuid():N}.log");
        using var connection = inCluster ? new InClusterConnection("127.0.0.1", api.BaseAddress.Port, api.CertificateAuthorityPem!, "bench-token", Namespace) : null;
        string[] arguments = ["exec", operatorDll, .. connection is null ? ["--kubeconfig", kubeconfig] : Array.Empty<string>(), "--health-probe-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0", "--resync-period", $"{options.ResyncSeconds}s", .. options.OperatorArguments];
        // Innermost first: the service account's mount namespace, then the memory cgroup around it.
        var (fileName, argv) = connection is null ? ("dotnet", (IReadOnlyList<string>)arguments) : connection.Wrap("dotnet", arguments);
        (fileName, argv) = cgroup is null ? (fileName, argv) : cgroup.Wrap(fileName, argv);
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in argv)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("KUBECONFIG");
        foreach (var (name, value) in connection?.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        start.Environment["MALLOC_ARENA_MAX"] = "1"; // as the operator's image sets it (Dockerfile.operator)
        foreach (var pair in options.OperatorEnvironment)
        {
            start.Environment[pair[..pair.IndexOf('=', StringComparison.Ordinal)]] = pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        using var process = Process.Start(start)!;
        _process = process;
        await using var logFile = File.CreateText(figures.Log);
        var drain = Task.WhenAll(Copy(process.StandardOutput, logFile, figures), Copy(process.StandardError, logFile, figures));
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleAsync(figures, sampling.Token));
        try
        {
            await MeasureAsync(figures, client);
        }
        finally
        {
            if (!process.HasExited)
            {
                using var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await term.WaitForExitAsync();
            }

            // SIGTERM gives reconciles in flight 20 s (OperatorHost.ShutdownTimeout); one stuck past that is killed.
            await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(40)));
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
            await sampling.CancelAsync();
            await sampler;
            await drain;
            await stop.CancelAsync();
            await simulator;
            File.Delete(kubeconfig);
            figures.ExitCode = process.ExitCode;
            if (cgroup is not null)
            {
                figures.Cgroup = (cgroup.MaxUsageBytes, cgroup.FailCount, cgroup.OomKills);
            }
        }

        return figures;
    }

    private async Task MeasureAsync(RunFigures figures, IKubernetes client)
    {
        var api = _api;
        await api.WaitForAsync(() => api.Requests.Count(IsOperatorWatch) >= 5 || _process.HasExited, TimeSpan.FromSeconds(120));
        if (_process.HasExited)
        {
            return;
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // Every informer starts its watch at once; give the last ones a moment.
        _informers = api.Requests.Where(IsOperatorWatch).Select(r => r.Path).Distinct(StringComparer.Ordinal).Count();
        figures.WithNone = ProcessMemory.Of(_process.Id);
        Progress($"operator pid {_process.Id} watching ({_informers} informers), no UserApi");
        api.ClearRequests();

        var readiness = new ReadinessWatch(client, Namespace, options.Count);
        using var stopReadiness = new CancellationTokenSource();
        var readinessTask = Task.Run(() => readiness.RunAsync(stopReadiness.Token));
        // Open before the first creation (a watch begun later would still list what exists, as a real server's does).
        await api.WaitForAsync(() => api.Requests.Any(r => r.IsWatch && !IsOperatorWatch(r) && r.Path.Contains("/userapis", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        var names = Enumerable.Range(0, options.Count).Select(i => $"ua-{i:D5}").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, token) =>
            await api.ApplyAsync($"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: {name}, namespace: {Namespace}}}\n", cancellationToken: token));
        figures.Created = clock.Elapsed;
        Progress($"{options.Count} UserApis created in {figures.Created.TotalSeconds:0.0} s");

        // The clock stops at the watch event that makes the last UserApi Ready (see ReadinessWatch).
        // Gives up when the operator exits (an OOM kill) or makes no progress for StallLimit (a GC
        // heap at its limit throws OutOfMemoryException and retries without end).
        var progress = Stopwatch.StartNew();
        var lastCount = -1;
        while (!readiness.AllReady.IsCompleted && !_process.HasExited && progress.Elapsed < StallLimit)
        {
            await Task.WhenAny(readiness.AllReady, _process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(1)));
            if (readiness.Count != lastCount)
            {
                lastCount = readiness.Count;
                progress.Restart();
            }
        }

        figures.AllReady = readiness.AllReady.IsCompleted ? clock.Elapsed : null;
        figures.Stalled = !readiness.AllReady.IsCompleted && !_process.HasExited;
        await stopReadiness.CancelAsync();
        await readinessTask;
        figures.Ready = api.Store.List(UserApis, Namespace).Count(u =>
            u["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true);
        if (_process.HasExited)
        {
            return;
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // Let the last status writes and events land before counting.
        figures.AtCount = ProcessMemory.Of(_process.Id);
        Progress(figures.AllReady is { } ready ? $"all Ready after {ready.TotalSeconds:0.0} s" : $"{figures.Ready} Ready, giving up");
        CountRequests(figures);
        if (figures.AllReady is null)
        {
            return; // Idle and reconnect figures of an operator that did not get there would mean nothing.
        }

        if (options.IdleSeconds > 0)
        {
            api.ClearRequests();
            Progress($"idle for {options.IdleSeconds} s");
            await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
            figures.Idle = (
                api.WriteRequests.Count(r => IsOperator(r)),
                api.Requests.Count(r => !r.IsWrite && !r.IsWatch && IsOperator(r)));
            if (_process.HasExited)
            {
                return;
            }

            figures.AfterIdle = ProcessMemory.Of(_process.Id);
        }

        // Watches end and are resumed all the time; memory must stay flat across thousands of reconnects.
        // First as their timeoutSeconds ends them (kube-apiserver's usual case: a last BOOKMARK, then the end).
        if (options.ReconnectRounds > 0)
        {
            figures.TimeoutEnds = await ReconnectAsync(options.ReconnectRounds, api.TimeOutWatches, minimumLife: TimeSpan.Zero);
        }

        // Then without any last event: a watch that saw nothing since it began ends empty, which
        // KubernetesClient reports by throwing (see Informer.RunAsync). A watch that ends so within a
        // second of its start counts as a failure and is retried with backoff (client-go's "very short
        // watch"), so each round first lets every watch live over a second: fewer rounds than above.
        if (options.EmptyEndRounds > 0 && !_process.HasExited)
        {
            figures.EmptyEnds = await ReconnectAsync(options.EmptyEndRounds, api.EndWatches, minimumLife: TimeSpan.FromSeconds(1.2));
        }
    }

    /// <summary>The operator's requests during creation: by verb, writes by UserApi and by resource, reads, and the owned objects each UserApi has.</summary>
    private void CountRequests(RunFigures figures)
    {
        var count = (double)options.Count;
        var requests = _api.Requests.Where(IsOperator).ToList();
        figures.RequestsByVerb = string.Join(", ", requests.GroupBy(r => r.Verb ?? r.Method.ToLowerInvariant()).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count() / count:0.00}"));
        var writes = requests.Where(r => r.IsWrite).ToList();
        var perUserApi = writes.GroupBy(r => UserApiOf(r.Path, r.Body)).Where(g => g.Key is not null).Select(g => g.Count()).ToList();
        figures.WritesPerUserApi = perUserApi.Sum() / count;
        figures.MaxWritesPerUserApi = perUserApi.DefaultIfEmpty().Max();
        figures.UnattributedWrites = writes.Count(r => UserApiOf(r.Path, r.Body) is null);
        figures.WritesByResource = string.Join(", ", writes.GroupBy(r => $"{r.Verb} {Resource(r.Path)}").OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count() / count:0.00}"));
        figures.ReadsPerUserApi = requests.Count(r => !r.IsWrite && !r.IsWatch) / count;
        figures.ChildrenPerUserApi = OwnedKinds.Sum(kind => _api.Store.List(kind, Namespace, "app.kubernetes.io/managed-by=userapi-operator").Count) / count;
    }

    private async Task<(int, TimeSpan, long, long)> ReconnectAsync(int rounds, Action endWatches, TimeSpan minimumLife)
    {
        var before = ProcessMemory.Of(_process.Id).Rss;
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < rounds && !_process.HasExited; round++)
        {
            if (minimumLife > TimeSpan.Zero)
            {
                // Every watch was opened when the previous round's wait below saw it; the informer's own
                // clock started before its request, so it sees each watch live at least this long.
                await Task.Delay(minimumLife);
            }

            var watches = _api.Requests.Count(IsOperatorWatch);
            endWatches();
            await _api.WaitForAsync(() => _api.Requests.Count(IsOperatorWatch) >= watches + _informers || _process.HasExited, TimeSpan.FromSeconds(60));
            if (round % 100 == 99)
            {
                _api.ClearRequests();
            }
        }

        return (rounds * _informers, clock.Elapsed, before, _process.HasExited ? 0 : ProcessMemory.Of(_process.Id).Rss);
    }

    /// <summary>Reads the process's figures four times a second, so that the last ones before an exit (an OOM kill) are known.</summary>
    private async Task SampleAsync(RunFigures figures, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            do
            {
                figures.Last = ProcessMemory.Of(_process.Id);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // The process is gone: its last figures stay.
        }
    }

    /// <summary>One line on stderr per phase, so that a profiler can be attached at the right moment.</summary>
    private void Progress(string message) => Console.Error.WriteLine($"  [{label} {DateTime.UtcNow:HH:mm:ss}] {message}");

    private static bool IsOperator(RecordedRequest r) => r.UserAgent?.StartsWith(UserAgent, StringComparison.Ordinal) == true;

    private static bool IsOperatorWatch(RecordedRequest r) => r.IsWatch && IsOperator(r);

    /// <summary>Copies the operator's output to its log, counting the lines that report an <see cref="OutOfMemoryException"/> (the GC heap at its hard limit).</summary>
    private static async Task Copy(StreamReader from, StreamWriter to, RunFigures figures)
    {
        while (await from.ReadLineAsync() is { } line)
        {
            lock (to)
            {
                to.WriteLine(line);
                if (line.Contains(nameof(OutOfMemoryException), StringComparison.Ordinal))
                {
                    figures.OutOfMemoryLines++;
                }
            }
        }
    }

    /// <summary>
    /// The UserApi a request is about: object names are <c>name</c>, <c>name-mysql</c>, or
    /// <c>name.suffix</c> for Events; a create (POST to the collection) names its object in the body.
    /// </summary>
    private static string? UserApiOf(string path, string? body)
    {
        var last = path.Split('/', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts ? parts[^1] : "";
        if (last == "status")
        {
            last = path.Split('/')[^2];
        }
        else if (body is not null && JsonNode.Parse(body)?["metadata"]?["name"] is { } name)
        {
            last = (string)name!;
        }

        var match = BenchName().Match(last);
        return match.Success ? match.Value : null;
    }

    private static string Resource(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var index = Array.IndexOf(parts, "namespaces");
        var resource = index >= 0 && parts.Length > index + 2 ? parts[index + 2] : parts[^1];
        return parts[^1] == "status" ? resource + "/status" : resource;
    }

    [GeneratedRegex("^ua-[0-9]{5}")]
    private static partial Regex BenchName();
}
