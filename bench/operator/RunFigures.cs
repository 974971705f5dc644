namespace UserApiOperator.Bench;

/// <summary>What one run of the benchmark measured of one operator build.</summary>
internal sealed record RunFigures
{
    /// <summary>The operator build (path of its dll).</summary>
    public required string Operator { get; init; }

    /// <summary>The process with its caches filled and no UserApi, a moment after its watches opened.</summary>
    public ProcessMemory? WithNone { get; set; }

    /// <summary>Time from the first creation to the last creation answered.</summary>
    public TimeSpan Created { get; set; }

    /// <summary>Time from the first creation to the watch event that made the last UserApi Ready; null when not all became Ready.</summary>
    public TimeSpan? AllReady { get; set; }

    /// <summary>True when the creation phase gave up: no UserApi became Ready for two minutes while the operator ran.</summary>
    public bool Stalled { get; set; }

    /// <summary>Lines of the operator's log that report an <see cref="OutOfMemoryException"/>: the GC heap reached its hard limit (75 % of a memory cgroup's limit by default).</summary>
    public int OutOfMemoryLines { get; set; }

    /// <summary>UserApis Ready at the end of the creation phase.</summary>
    public int Ready { get; set; }

    /// <summary>The process once all were Ready (or it gave up), before the idle phase.</summary>
    public ProcessMemory? AtCount { get; set; }

    /// <summary>The process after the idle phase (its peak includes the forced resyncs).</summary>
    public ProcessMemory? AfterIdle { get; set; }

    /// <summary>The operator's requests during creation, per UserApi, by verb (<c>create 2.00, get 1.00, ...</c>).</summary>
    public string RequestsByVerb { get; set; } = "";

    /// <summary>The operator's writes during creation, per UserApi, by verb and resource.</summary>
    public string WritesByResource { get; set; } = "";

    /// <summary>Average writes per UserApi during creation.</summary>
    public double WritesPerUserApi { get; set; }

    /// <summary>Most writes any one UserApi took.</summary>
    public int MaxWritesPerUserApi { get; set; }

    /// <summary>Writes that name no UserApi (leader election, for instance).</summary>
    public int UnattributedWrites { get; set; }

    /// <summary>Owned objects per UserApi in the API server once all are Ready: the rule allows one write for each, plus a status write and an Event.</summary>
    public double ChildrenPerUserApi { get; set; }

    /// <summary>Reads (GET and list requests, watches not counted) per UserApi during creation.</summary>
    public double ReadsPerUserApi { get; set; }

    /// <summary>Writes and reads during the idle phase.</summary>
    public (int Writes, int Reads)? Idle { get; set; }

    /// <summary>Watch ends as their timeout ends them: how many, how long, RSS before and after.</summary>
    public (int Count, TimeSpan Elapsed, long RssBefore, long RssAfter)? TimeoutEnds { get; set; }

    /// <summary>Watch ends without a last event: how many, how long, RSS before and after.</summary>
    public (int Count, TimeSpan Elapsed, long RssBefore, long RssAfter)? EmptyEnds { get; set; }

    /// <summary>The last figures read before the process exited.</summary>
    public ProcessMemory? Last { get; set; }

    /// <summary>The memory cgroup's figures, when the operator ran in one: peak usage, fail count, OOM kills.</summary>
    public (long MaxUsage, long FailCount, long OomKills)? Cgroup { get; set; }

    /// <summary>The operator's exit code (128 + signal when a signal killed it: 137 for SIGKILL, the OOM killer's).</summary>
    public int ExitCode { get; set; }

    /// <summary>Where the operator's log went.</summary>
    public string Log { get; set; } = "";

    /// <summary>True when the kernel's OOM killer killed the operator.</summary>
    public bool OomKilled => Cgroup is { OomKills: > 0 };
}
