using System.Globalization;
using UserApiOperator.Bench;

// The operator at scale: N UserApis created against the in-process fake API server, the real
// operator process reconciling them (in a memory cgroup with --memory-limit), a simulated Deployment
// controller making Pods ready. Prints each figure beside its target (issue 21): peak RSS with no
// UserApi and with N, time to all Ready, reads and writes per new UserApi, writes and reads while
// idle (across forced resyncs), memory across watch reconnects, any OOM kill. With --baseline, the
// same benchmark runs first against that build, and both columns are printed: before and after,
// same machine, same run.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"operator bench: {e.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var builds = options.Baseline is null ? [("after", options.Operator)] : new[] { ("before", options.Baseline), ("after", options.Operator) };
Console.WriteLine($"Operator benchmark: {options.Count:N0} UserApis{(options.MemoryLimitText is null ? "" : $", the operator in a {options.MemoryLimitText} memory cgroup")}, {(options.InCluster ? "connected as in its Pod (service account, HTTPS)" : "connected with a kubeconfig (HTTP)")}; load average {LoadAverage()} at start");
var runs = new List<RunFigures>();
foreach (var (label, dll) in builds)
{
    Console.WriteLine($"  {label}: {dll}");
    runs.Add(await new OperatorRun(options, dll, label).RunAsync());
}

Console.WriteLine($"  load average {LoadAverage()} at the end");
Console.WriteLine();
var n = options.Count;
var (readyTarget, rssTarget) = n switch
{
    1000 => ((double?)12, (double?)90),
    10000 => (200, 230),
    _ => ((double?)null, (double?)null),
};
string Mb(long? bytes) => bytes is { } b ? ProcessMemory.Mb(b) : "-";
static string Ratio(long? before, long? after) => before is { } b && after is { } a ? $"{Mb2(b)} -> {Mb2(a)}" : "-";
static string Mb2(long bytes) => ProcessMemory.Mb(bytes);

var rows = new List<(string Figure, Func<RunFigures, string> Value, string Target, Func<RunFigures, bool?> Meets)>
{
    ("peak RSS, no UserApi", r => Mb(r.WithNone?.PeakRss), "<= 60 MB", r => r.WithNone?.PeakRss <= 60e6),
    ("  RSS then (anon + file)", r => r.WithNone is { } m ? $"{Mb(m.RssAnon)} + {Mb(m.RssFile)}" : "-", "", _ => null),
    ($"all {n:N0} Ready after", r => r.AllReady is { } t ? $"{t.TotalSeconds:0.0} s" : $"{r.Ready:N0} Ready{(r.Stalled ? ", stalled" : "")}", readyTarget is { } s ? $"<= {s:0} s" : "", r => readyTarget is { } s ? r.AllReady?.TotalSeconds <= s : null),
    ($"peak RSS, {n:N0} UserApis", r => Mb(r.AtCount?.PeakRss ?? r.Last?.PeakRss), rssTarget is { } m ? $"<= {m:0} MB" : "", r => rssTarget is { } m ? (r.AtCount?.PeakRss ?? r.Last?.PeakRss) <= m * 1e6 : null),
    ("  RSS then (anon + file)", r => r.AtCount is { } m ? $"{Mb(m.RssAnon)} + {Mb(m.RssFile)}" : "-", "", _ => null),
    ("  peak RSS after the idle phase", r => Mb(r.AfterIdle?.PeakRss), rssTarget is { } m2 ? $"<= {m2:0} MB" : "", r => rssTarget is { } m && r.AfterIdle is { } idle ? idle.PeakRss <= m * 1e6 : null),
    ("memory cgroup peak usage", r => r.Cgroup is { } c ? Mb(c.MaxUsage) : "-", options.MemoryLimitText is { } l ? $"limit {l}" : "", _ => null),
    ("  limit hits, OOM kills", r => r.Cgroup is { } c ? $"{c.FailCount}, {c.OomKills}" : "-", options.MemoryLimit is null ? "" : "no OOM kill", r => r.Cgroup is { } c ? c.OomKills == 0 : null),
    ("  OutOfMemoryException log lines", r => r.OutOfMemoryLines.ToString(CultureInfo.InvariantCulture), "0", r => r.OutOfMemoryLines == 0),
    ("operator exit code", r => r.ExitCode.ToString(CultureInfo.InvariantCulture) + (r.ExitCode == 137 ? " (SIGKILL)" : ""), "0", r => r.ExitCode == 0),
    ("reads per new UserApi", r => $"{r.ReadsPerUserApi:0.00}", "<= 1", r => r.ReadsPerUserApi <= 1.0001),
    ("writes per new UserApi (avg, max)", r => $"{r.WritesPerUserApi:0.00}, {r.MaxWritesPerUserApi}", "children + 2", r => r.Ready == n ? r.WritesPerUserApi <= r.ChildrenPerUserApi + 2.0001 : null),
    ("  owned objects per UserApi", r => $"{r.ChildrenPerUserApi:0.00}", "", _ => null),
    ("  unattributed writes", r => r.UnattributedWrites.ToString(CultureInfo.InvariantCulture), "", _ => null),
    ($"idle {options.IdleSeconds} s, {options.IdleSeconds / options.ResyncSeconds} resyncs: writes, reads", r => r.Idle is { } i ? $"{i.Writes}, {i.Reads}" : "-", "0, 0", r => r.Idle is { } i ? i.Writes == 0 && i.Reads == 0 : null),
    ("watch ends at timeout: count, time", r => r.TimeoutEnds is { } e ? $"{e.Count:N0} in {e.Elapsed.TotalSeconds:0.0} s" : "-", "", _ => null),
    ("  RSS before -> after", r => r.TimeoutEnds is { } e ? Ratio(e.RssBefore, e.RssAfter) : "-", "flat", _ => null),
    ("watch ends, empty: count, time", r => r.EmptyEnds is { } e ? $"{e.Count:N0} in {e.Elapsed.TotalSeconds:0.0} s" : "-", "", _ => null),
    ("  RSS before -> after", r => r.EmptyEnds is { } e ? Ratio(e.RssBefore, e.RssAfter) : "-", "flat", _ => null),
    ("operator CPU time", r => r.Last is { } m ? $"{m.CpuSeconds:0.0} s" : "-", "", _ => null),
};

var columns = runs.Count == 1 ? new[] { "figure", "value", "target", "met" } : ["figure", "before", "after", "target", "after met"];
var table = rows.Select(row => (IReadOnlyList<string>)[row.Figure, .. runs.Select(row.Value), row.Target, row.Meets(runs[^1]) switch { true => "yes", false => "NO", null => "" }]).ToList();
var widths = Enumerable.Range(0, columns.Length).Select(i => Math.Max(columns[i].Length, table.Max(r => r[i].Length))).ToArray();
Console.WriteLine(string.Join("  ", columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
foreach (var line in table)
{
    Console.WriteLine(string.Join("  ", line.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
}

Console.WriteLine();
foreach (var (run, (label, _)) in runs.Zip(builds))
{
    Console.WriteLine($"{label}: requests per UserApi {run.RequestsByVerb}");
    Console.WriteLine($"{label}: writes per UserApi {run.WritesByResource}");
    Console.WriteLine($"{label}: log {run.Log}");
}

return runs[^1] is { AllReady: not null, ExitCode: 0, OomKilled: false } ? 0 : 1;

static string LoadAverage() => string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
