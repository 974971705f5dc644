using System.Globalization;
using k8s.Models;
using LocalCluster.Kubelet;

namespace LocalCluster.Metrics;

/// <summary>
/// Resource usage read from the containers' cgroups (cgroup v1), as the kubelet's cAdvisor reads it
/// and metrics-server turns it into <c>metrics.k8s.io</c>: every <see cref="Interval"/> it reads, for
/// each running Pod of every node, each container's <c>cpuacct.usage</c> (nanoseconds of CPU) and
/// memory working set (<c>memory.usage_in_bytes</c> minus <c>total_inactive_file</c> of
/// <c>memory.stat</c>, never below 0: cAdvisor's <c>setMemoryStats</c>,
/// <c>container/libcontainer/handler.go</c>), and keeps as the sample the CPU rate between its last
/// two reads (metrics-server's <c>pkg/storage/pod.go</c>, <c>podStorage.GetMetrics</c>: the
/// difference of two cumulative points over their interval) with the later memory figure.
/// A node's usage is the sum of its Pods' (all nodes share this machine, so the machine's own
/// figures would count every node's Pods on each); every node has one from the second read on. A
/// Pod appears once it has two reads.
/// </summary>
/// <param name="pods">The cluster's Pods now (every node).</param>
/// <param name="nodes">The cluster's Nodes now.</param>
internal sealed class CgroupResourceMetrics(Func<IReadOnlyList<V1Pod>> pods, Func<IReadOnlyList<V1Node>> nodes) : IResourceMetrics
{
    private const string CpuHierarchy = "/sys/fs/cgroup/cpuacct";
    private const string MemoryHierarchy = "/sys/fs/cgroup/memory";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset At, Dictionary<string, long> CpuNanos)> _last = new(StringComparer.Ordinal);
    private Dictionary<string, (V1Pod Pod, PodUsage Usage)> _samples = new(StringComparer.Ordinal);
    private (DateTimeOffset At, TimeSpan Window)? _scraped;
    private DateTimeOffset? _firstScrape;

    /// <summary>How often the cgroups are read (metrics-server's <c>--metric-resolution</c>, 15 s by default; shorter here so that the autoscaler sees load sooner).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads the cgroups every <see cref="Interval"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                try
                {
                    Scrape(DateTimeOffset.UtcNow);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.Write($"metrics: {e.GetType().Name}: {e.Message}");
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>One read of every running Pod's containers.</summary>
    public void Scrape(DateTimeOffset now)
    {
        var samples = new Dictionary<string, (V1Pod, PodUsage)>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in pods())
        {
            if (string.IsNullOrEmpty(pod.Spec?.NodeName) || pod.Status?.Phase != "Running" || pod.Metadata.Uid is not { } uid) continue;
            var cgroup = NodeCgroups.Pod(pod.Spec.NodeName, uid).TrimStart('/');
            var cpu = new Dictionary<string, long>(StringComparer.Ordinal);
            var memory = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var container in pod.Spec.Containers)
            {
                if (ReadLong(Path.Combine(CpuHierarchy, cgroup, container.Name, "cpuacct.usage")) is not { } nanos) continue;
                cpu[container.Name] = nanos;
                memory[container.Name] = WorkingSet(Path.Combine(MemoryHierarchy, cgroup, container.Name));
            }
            if (cpu.Count == 0) continue;
            seen.Add(uid);
            lock (_lock)
            {
                if (_last.TryGetValue(uid, out var last) && now > last.At)
                {
                    var window = now - last.At;
                    var containers = cpu
                        .Where(c => last.CpuNanos.ContainsKey(c.Key) && c.Value >= last.CpuNanos[c.Key])
                        .Select(c => new ContainerUsage(c.Key, (long)((c.Value - last.CpuNanos[c.Key]) / window.TotalMilliseconds / 1000), memory[c.Key]))
                        .ToList();
                    if (containers.Count > 0) samples[uid] = (pod, new PodUsage(pod.Metadata.NamespaceProperty, pod.Metadata.Name, now, window, containers));
                }
                _last[uid] = (now, cpu);
            }
        }
        lock (_lock)
        {
            foreach (var gone in _last.Keys.Where(k => !seen.Contains(k)).ToList()) _last.Remove(gone);
            _samples = samples;
            if (_firstScrape is { } first) _scraped = (now, now - (_scraped?.At ?? first));
            _firstScrape ??= now;
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<PodUsage>> GetPodUsageAsync(string? @namespace, CancellationToken ct)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<PodUsage>>([.. _samples.Values.Select(s => s.Usage).Where(u => @namespace is null || u.Namespace == @namespace)]);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<NodeUsage>> GetNodeUsageAsync(CancellationToken ct)
    {
        List<(V1Pod Pod, PodUsage Usage)> samples;
        (DateTimeOffset At, TimeSpan Window)? scraped;
        lock (_lock)
        {
            samples = [.. _samples.Values];
            scraped = _scraped;
        }
        // Every node has a sample once two reads were made (a node without Pods uses nothing here).
        if (scraped is not { } last) return Task.FromResult<IReadOnlyList<NodeUsage>>([]);
        var (at, window) = last;
        var byNode = samples.GroupBy(s => s.Pod.Spec.NodeName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<NodeUsage>>([.. nodes().Select(n =>
        {
            var mine = byNode.GetValueOrDefault(n.Metadata.Name) ?? [];
            return new NodeUsage(n.Metadata.Name, at, window,
                mine.Sum(s => s.Usage.Containers.Sum(c => c.CpuMillicores)),
                mine.Sum(s => s.Usage.Containers.Sum(c => c.MemoryWorkingSetBytes)));
        })]);
    }

    /// <summary>cAdvisor's working set: usage minus inactive file pages, floored at 0.</summary>
    private static long WorkingSet(string directory)
    {
        var usage = ReadLong(Path.Combine(directory, "memory.usage_in_bytes")) ?? 0;
        long inactive = 0;
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(directory, "memory.stat")))
            {
                if (line.StartsWith("total_inactive_file ", StringComparison.Ordinal))
                {
                    inactive = long.Parse(line["total_inactive_file ".Length..], CultureInfo.InvariantCulture);
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return Math.Max(0, usage - inactive);
    }

    private static long? ReadLong(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
