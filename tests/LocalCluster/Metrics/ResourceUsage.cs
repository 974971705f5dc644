namespace LocalCluster.Metrics;

/// <summary>One container's resource usage in a sample.</summary>
/// <param name="Name">The container's name.</param>
/// <param name="CpuMillicores">CPU in use, in thousandths of a core (averaged over the sample's window).</param>
/// <param name="MemoryWorkingSetBytes">Memory working set in bytes (the cgroup's usage minus inactive file pages, as metrics-server reports it).</param>
internal sealed record ContainerUsage(string Name, long CpuMillicores, long MemoryWorkingSetBytes);

/// <summary>A Pod's usage sample: each running container's usage over a window ending at a timestamp.</summary>
/// <param name="Namespace">The Pod's namespace.</param>
/// <param name="Name">The Pod's name.</param>
/// <param name="Timestamp">End of the window the CPU rate was measured over.</param>
/// <param name="Window">Length of that window (metrics-server: the interval between its two scrapes, 15 s by default).</param>
/// <param name="Containers">Usage per container.</param>
internal sealed record PodUsage(string Namespace, string Name, DateTimeOffset Timestamp, TimeSpan Window, IReadOnlyList<ContainerUsage> Containers);

/// <summary>A node's usage sample.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="Timestamp">End of the window.</param>
/// <param name="Window">Length of the window.</param>
/// <param name="CpuMillicores">CPU in use on the node, in thousandths of a core.</param>
/// <param name="MemoryWorkingSetBytes">Memory working set of the node in bytes.</param>
internal sealed record NodeUsage(string Name, DateTimeOffset Timestamp, TimeSpan Window, long CpuMillicores, long MemoryWorkingSetBytes);

/// <summary>
/// Where resource usage comes from: what kubelets report to metrics-server and metrics-server
/// serves as <c>metrics.k8s.io</c>. The local cluster backs it with the containers' cgroups; tests
/// with <see cref="InMemoryResourceMetrics"/>. A Pod or node without a sample is simply absent.
/// </summary>
internal interface IResourceMetrics
{
    /// <summary>The latest sample of each Pod in <paramref name="namespace"/> (every namespace when null) that has one.</summary>
    Task<IReadOnlyList<PodUsage>> GetPodUsageAsync(string? @namespace, CancellationToken ct);

    /// <summary>The latest sample of each node that has one.</summary>
    Task<IReadOnlyList<NodeUsage>> GetNodeUsageAsync(CancellationToken ct);
}

/// <summary>Samples set by hand: the fake behind the autoscaler and metrics tests.</summary>
internal sealed class InMemoryResourceMetrics : IResourceMetrics
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, string), PodUsage> _pods = [];
    private readonly Dictionary<string, NodeUsage> _nodes = new(StringComparer.Ordinal);

    /// <summary>When set, every read fails with this message (a metrics API that is down).</summary>
    public string? Failure { get; set; }

    /// <summary>Sets (replaces) a Pod's sample.</summary>
    public void Set(PodUsage usage)
    {
        lock (_lock) _pods[(usage.Namespace, usage.Name)] = usage;
    }

    /// <summary>Sets (replaces) a node's sample.</summary>
    public void Set(NodeUsage usage)
    {
        lock (_lock) _nodes[usage.Name] = usage;
    }

    /// <summary>Removes a Pod's sample.</summary>
    public void Remove(string @namespace, string name)
    {
        lock (_lock) _pods.Remove((@namespace, name));
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<PodUsage>> GetPodUsageAsync(string? @namespace, CancellationToken ct)
    {
        if (Failure is { } failure) return Task.FromException<IReadOnlyList<PodUsage>>(new InvalidOperationException(failure));
        lock (_lock) return Task.FromResult<IReadOnlyList<PodUsage>>([.. _pods.Values.Where(p => @namespace is null || p.Namespace == @namespace)]);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<NodeUsage>> GetNodeUsageAsync(CancellationToken ct)
    {
        if (Failure is { } failure) return Task.FromException<IReadOnlyList<NodeUsage>>(new InvalidOperationException(failure));
        lock (_lock) return Task.FromResult<IReadOnlyList<NodeUsage>>([.. _nodes.Values]);
    }
}
