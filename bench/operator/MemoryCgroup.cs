using System.Globalization;

namespace UserApiOperator.Bench;

/// <summary>
/// A cgroup v1 memory cgroup of a fixed size that a process enters before it executes the operator,
/// so that the .NET runtime sees the limit from its first instruction, as in a container with
/// <c>resources.limits.memory</c>. Set up as Kubernetes and runc set up a container's: the kubelet
/// asks for memory+swap equal to the memory limit on cgroup v1, i.e. no swap
/// (<c>pkg/kubelet/kuberuntime/kuberuntime_container_linux.go</c>, <c>swapConfigurationHelper.ConfigureNoSwap</c>),
/// and runc writes <c>memory.limit_in_bytes</c>, then <c>memory.memsw.limit_in_bytes</c> where the
/// kernel has swap accounting (<c>libcontainer/cgroups/fs/memory.go</c>, <c>setMemoryAndSwap</c>).
/// The kernel's OOM killer then acts on the cgroup alone, as it does on a container.
/// </summary>
internal sealed class MemoryCgroup : IDisposable
{
    /// <summary>Where cgroup v1 mounts the memory controller.</summary>
    public const string Root = "/sys/fs/cgroup/memory";

    private MemoryCgroup(string path, long limitBytes)
    {
        Path = path;
        LimitBytes = limitBytes;
    }

    /// <summary>The cgroup's directory.</summary>
    public string Path { get; }

    /// <summary>The limit, in bytes.</summary>
    public long LimitBytes { get; }

    /// <summary>The most memory the cgroup held at once (<c>memory.max_usage_in_bytes</c>: anonymous memory and page cache), in bytes.</summary>
    public long MaxUsageBytes => ReadLong("memory.max_usage_in_bytes");

    /// <summary>How many times usage hit the limit (<c>memory.failcnt</c>): each time the kernel reclaimed, or killed.</summary>
    public long FailCount => ReadLong("memory.failcnt");

    /// <summary>Processes the kernel's OOM killer killed in this cgroup (<c>oom_kill</c> of <c>memory.oom_control</c>, Linux 4.13 and later).</summary>
    public long OomKills =>
        File.ReadLines(System.IO.Path.Combine(Path, "memory.oom_control"))
            .Select(l => l.Split(' '))
            .Where(f => f.Length == 2 && f[0] == "oom_kill")
            .Select(f => long.Parse(f[1], CultureInfo.InvariantCulture))
            .FirstOrDefault();

    /// <summary>Creates a memory cgroup named <paramref name="name"/> under <see cref="Root"/> with <paramref name="limitBytes"/> as its limit, without swap.</summary>
    /// <exception cref="InvalidOperationException">No cgroup v1 memory controller here, or no right to create a cgroup (needs root).</exception>
    public static MemoryCgroup Create(string name, long limitBytes)
    {
        if (!File.Exists(System.IO.Path.Combine(Root, "memory.limit_in_bytes")))
        {
            throw new InvalidOperationException($"--memory-limit needs the cgroup v1 memory controller at {Root} (this machine has none)");
        }

        var path = System.IO.Path.Combine(Root, name);
        try
        {
            Directory.CreateDirectory(path);
            File.WriteAllText(System.IO.Path.Combine(path, "memory.limit_in_bytes"), limitBytes.ToString(CultureInfo.InvariantCulture));
            var swap = System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes");
            if (File.Exists(swap))
            {
                File.WriteAllText(swap, limitBytes.ToString(CultureInfo.InvariantCulture));
            }
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidOperationException($"--memory-limit: cannot create the memory cgroup {path} (run as root): {e.Message}", e);
        }

        return new MemoryCgroup(path, limitBytes);
    }

    /// <summary>
    /// The command line that runs <paramref name="fileName"/> with <paramref name="arguments"/> inside this cgroup: a shell writes its own
    /// pid to <c>cgroup.procs</c>, then replaces itself with the command, so the process id stays the
    /// same and the runtime starts already limited.
    /// </summary>
    public (string FileName, IReadOnlyList<string> Arguments) Wrap(string fileName, IEnumerable<string> arguments) =>
        ("/bin/sh", ["-c", "echo $$ > \"$0\" && exec \"$@\"", System.IO.Path.Combine(Path, "cgroup.procs"), fileName, .. arguments]);

    /// <summary>Parses a Kubernetes memory quantity of the forms the benchmark takes: <c>256Mi</c>, <c>1Gi</c>, <c>512Ki</c>, <c>300M</c>, or bytes.</summary>
    /// <exception cref="FormatException">Not such a quantity.</exception>
    public static long ParseQuantity(string text)
    {
        (string Suffix, long Factor)[] suffixes = [("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000)];
        foreach (var (suffix, factor) in suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && long.TryParse(text[..^suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return n * factor;
            }
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : throw new FormatException($"--memory-limit {text}: expected a memory quantity such as 256Mi, 1Gi or 300M");
    }

    /// <summary>Removes the cgroup (the kernel refuses while a process is still in it; that is left for the next run to report).</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
        }
    }

    private long ReadLong(string file) => long.Parse(File.ReadAllText(System.IO.Path.Combine(Path, file)).Trim(), CultureInfo.InvariantCulture);
}
