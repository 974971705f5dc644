using System.Diagnostics;
using System.Globalization;
using KubeApiFake;
using UserApiOperator.Bench;
using UserApiOperator.Cli;
using k8s;

// The operator at scale: N UserApis created against the in-process fake API server, the real
// operator process reconciling them, a simulated Deployment controller making Pods ready.
// Prints: time from the first creation to all Ready, API requests per UserApi by verb, writes
// and reads while idle (the operator runs with a short --resync-period, so idle includes forced
// resyncs of every UserApi), the operator process's peak resident memory, and its memory across
// thousands of watch reconnects.
var count = Option("--count", 1000);
var idleSeconds = Option("--idle", 60);
var resyncSeconds = Option("--resync", 20);
var reconnectRounds = Option("--reconnects", 1000);
var operatorDll = Path.GetFullPath(args.SkipWhile(a => a != "--operator").Skip(1).FirstOrDefault()
    ?? throw new ArgumentException("--operator PATH/userapi-operator.dll is required"));
const string Namespace = "bench";

await using var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { RequestLogLimit = 5_000_000, HistoryLimit = 100_000 });
var kubeconfig = Path.Combine(Path.GetTempPath(), $"operator-bench-{Guid.NewGuid():N}.yaml");
await File.WriteAllTextAsync(kubeconfig, api.KubeconfigYaml(Namespace));
await api.ApplyAsync(CrdCommand.Render());

using var stop = new CancellationTokenSource();
using var simulatorClient = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
var simulator = Task.Run(() => new DeploymentControllerSimulator(simulatorClient, api).RunAsync(stop.Token));

var operatorLog = Path.Combine(Path.GetTempPath(), $"operator-bench-{Guid.NewGuid():N}.log");
// Further operator flags (e.g. --max-concurrent-reconciles 4) come after --operator-args.
string[] operatorArgs = ["exec", operatorDll, "--kubeconfig", kubeconfig, "--health-probe-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0", "--resync-period", $"{resyncSeconds}s", .. args.SkipWhile(a => a != "--operator-args").Skip(1)];
using var process = Process.Start(new ProcessStartInfo("dotnet", operatorArgs)
{
    RedirectStandardOutput = true,
    RedirectStandardError = true,
    Environment = { ["MALLOC_ARENA_MAX"] = "1" }, // as the operator's image sets it (Dockerfile.operator)
})!;
await using var logFile = File.CreateText(operatorLog);
var drain = Task.WhenAll(Copy(process.StandardOutput, logFile), Copy(process.StandardError, logFile));
bool IsOperatorWatch(RecordedRequest r) => r.IsWatch && r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true;
await api.WaitForAsync(() => api.Requests.Count(IsOperatorWatch) >= 5, TimeSpan.FromSeconds(60));
await Task.Delay(TimeSpan.FromSeconds(2)); // Every informer starts its watch at once; give the last ones a moment.
var informers = api.Requests.Where(IsOperatorWatch).Select(r => r.Path).Distinct(StringComparer.Ordinal).Count();
api.ClearRequests();

Console.WriteLine($"Operator benchmark: {count} UserApis, operator {operatorDll}");
var readiness = new ReadinessWatch(simulatorClient, Namespace, count);
using var stopReadiness = new CancellationTokenSource();
var readinessTask = Task.Run(() => readiness.RunAsync(stopReadiness.Token));
// Open before the first creation (a watch begun later would still list what exists, as a real server's does).
await api.WaitForAsync(() => api.Requests.Any(r => r.IsWatch && !IsOperatorWatch(r) && r.Path.Contains("/userapis", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
var clock = Stopwatch.StartNew();
var names = Enumerable.Range(0, count).Select(i => $"ua-{i:D5}").ToList();
await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, token) =>
    await api.ApplyAsync($"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: {name}, namespace: {Namespace}}}\n", cancellationToken: token));
var created = clock.Elapsed;

var userApis = new GroupVersionResource("userapi.example.com", "v1alpha1", "userapis");
int ReadyCount() => api.Store.List(userApis, Namespace).Count(u =>
    u["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true);
// The clock stops at the watch event that makes the last UserApi Ready (see ReadinessWatch).
await Task.WhenAny(readiness.AllReady, Task.Delay(TimeSpan.FromMinutes(15)), process.WaitForExitAsync());
var allReady = clock.Elapsed;
await stopReadiness.CancelAsync();
await readinessTask;
var ready = ReadyCount();
await Task.Delay(TimeSpan.FromSeconds(2)); // Let the last status writes and events land before counting.
var operatorRequests = api.Requests.Where(r => r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true).ToList();
var byVerb = operatorRequests.GroupBy(r => r.Verb ?? r.Method.ToLowerInvariant()).OrderBy(g => g.Key, StringComparer.Ordinal)
    .Select(g => $"{g.Key} {g.Count() / (double)count:0.00}");
var writes = operatorRequests.Where(r => r.IsWrite).ToList();
var writesPerUserApi = writes.GroupBy(r => UserApiOf(r.Path, r.Body)).Where(g => g.Key is not null).Select(g => g.Count()).ToList();
var unattributed = writes.Count(r => UserApiOf(r.Path, r.Body) is null);
var byKind = operatorRequests.Where(r => r.IsWrite).GroupBy(r => $"{r.Verb} {Resource(r.Path)}").OrderBy(g => g.Key, StringComparer.Ordinal)
    .Select(g => $"{g.Key} {g.Count() / (double)count:0.00}");

api.ClearRequests();
await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
var idleWrites = api.WriteRequests.Count(r => r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true);
var idleReads = api.Requests.Count(r => !r.IsWrite && !r.IsWatch && r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true);
var idleResyncs = idleSeconds / resyncSeconds;
var getsPerUserApi = operatorRequests.Count(r => r.Verb == "get") / (double)count;
var (peakRss, rss, cpu) = ProcessFigures(process.Id);

// Watches end and are resumed all the time; memory must stay flat across thousands of reconnects.
// First as their timeoutSeconds ends them (kube-apiserver's usual case: a last BOOKMARK, then the end),
// then without any last event (a watch that saw nothing since it began ends empty, which
// KubernetesClient reports by throwing; see Informer.RunAsync). Each round ends every watch and waits
// for each of the operator's informers (one per watched kind) to resume.
var (timeoutTime, rssAfterTimeouts) = await ReconnectAsync(api.TimeOutWatches);
var (emptyEndTime, rssAfterEmptyEnds) = await ReconnectAsync(api.EndWatches);

using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
{
    await term.WaitForExitAsync();
}

await process.WaitForExitAsync();
await drain;
await stop.CancelAsync();
await simulator;
File.Delete(kubeconfig);

Console.WriteLine($"""
      UserApis created (16 clients)   {created.TotalSeconds,8:0.00} s
      all {ready}/{count} Ready after      {allReady.TotalSeconds,8:0.00} s   (target <= 15 s at 1,000)
      API requests per UserApi        {string.Join(", ", byVerb)}   (target: get <= 2; got {getsPerUserApi:0.00})
      writes per UserApi              avg {writesPerUserApi.DefaultIfEmpty().Average():0.00}, max {writesPerUserApi.DefaultIfEmpty().Max()}, unattributed {unattributed}   (target <= 6)
        by verb and resource          {string.Join(", ", byKind)}
      during {idleSeconds} s idle           writes {idleWrites}, reads {idleReads}, across {idleResyncs} forced resyncs of all {count} (--resync-period {resyncSeconds}s)   (target 0 and 0)
      operator peak RSS               {peakRss / 1024.0 / 1024:0.0} MB   (target < 150 MB; now {rss / 1024.0 / 1024:0.0} MB)
      watch reconnects, timeouts      {reconnectRounds * informers} in {timeoutTime.TotalSeconds:0.0} s; RSS {rss / 1024.0 / 1024:0.0} MB before, {rssAfterTimeouts / 1024.0 / 1024:0.0} MB after   (target flat)
      watch reconnects, empty ends    {reconnectRounds * informers} in {emptyEndTime.TotalSeconds:0.0} s; RSS {rssAfterTimeouts / 1024.0 / 1024:0.0} MB before, {rssAfterEmptyEnds / 1024.0 / 1024:0.0} MB after
      operator CPU time               {cpu:0.0} s
      operator exit code              {process.ExitCode}; log: {operatorLog}
    """);
return ready == count && process.ExitCode == 0 ? 0 : 1;

async Task<(TimeSpan Elapsed, long Rss)> ReconnectAsync(Action endWatches)
{
    var reconnectClock = Stopwatch.StartNew();
    for (var round = 0; round < reconnectRounds; round++)
    {
        var watches = api.Requests.Count(IsOperatorWatch);
        endWatches();
        await api.WaitForAsync(() => api.Requests.Count(IsOperatorWatch) >= watches + informers, TimeSpan.FromSeconds(30));
        if (round % 100 == 99)
        {
            api.ClearRequests();
        }
    }

    return (reconnectClock.Elapsed, ProcessFigures(process.Id).Rss);
}

int Option(string name, int fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : int.Parse(value, CultureInfo.InvariantCulture);
}

static async Task Copy(StreamReader from, StreamWriter to)
{
    while (await from.ReadLineAsync() is { } line)
    {
        lock (to)
        {
            to.WriteLine(line);
        }
    }
}

// The UserApi a request is about: object names are <name>, <name>-mysql, or <name>.<suffix> for
// Events; a create (POST to the collection) names its object in the body.
static string? UserApiOf(string path, string? body)
{
    var last = path.Split('/', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts ? parts[^1] : "";
    if (last == "status")
    {
        last = path.Split('/')[^2];
    }
    else if (body is not null && System.Text.Json.Nodes.JsonNode.Parse(body)?["metadata"]?["name"] is { } name)
    {
        last = (string)name!;
    }

    var match = System.Text.RegularExpressions.Regex.Match(last, "^ua-[0-9]{5}");
    return match.Success ? match.Value : null;
}

static string Resource(string path)
{
    var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
    var index = Array.IndexOf(parts, "namespaces");
    var resource = index >= 0 && parts.Length > index + 2 ? parts[index + 2] : parts[^1];
    return parts[^1] == "status" ? resource + "/status" : resource;
}

static (long PeakRss, long Rss, double CpuSeconds) ProcessFigures(int pid)
{
    long Kb(string key) => long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    return (Kb("VmHWM:"), Kb("VmRSS:"), ticks / 100.0);
}
