using System.Globalization;

namespace LocalCluster.Runtime;

/// <summary>
/// Tells whether the kernel's OOM killer struck inside one container's memory cgroup (cgroup v1),
/// as containerd's shim does for the CRI's <c>OOMKilled</c> reason (containerd
/// <c>pkg/oom/v1/v1.go</c>, <c>Epoller.Add</c>: an eventfd registered on the cgroup's
/// <c>memory.oom_control</c> through <c>cgroup.event_control</c>; <c>pkg/cri/server/events.go</c>,
/// <c>handleContainerExit</c>: an exit after an OOM event reads <c>OOMKilled</c>).
/// <para>
/// The memory cgroup is made here before runc runs the container (runc joins an existing cgroup),
/// so the registration is in place before the container's first allocation. The kernel signals
/// the eventfd once per OOM of the cgroup and once more when the cgroup is removed (runc removes
/// it when the container ends, often before this reader wakes): so an OOM is a total of two signals
/// or more, or the cgroup's own <c>oom_kill</c> counter seen non-zero while it still existed.
/// </para>
/// </summary>
internal sealed class OomWatcher : IDisposable
{
    private readonly int _eventFd = -1;
    private readonly Thread? _thread;
    private volatile bool _oom;
    private volatile bool _disposed;
    private long _signals;

    /// <summary>Makes <paramref name="memoryCgroup"/> (an absolute directory under /sys/fs/cgroup/memory) and watches it.</summary>
    public OomWatcher(string memoryCgroup)
    {
        Cgroup = memoryCgroup;
        Directory.CreateDirectory(memoryCgroup);
        var control = Path.Combine(memoryCgroup, "memory.oom_control");
        _eventFd = Native.EventFd();
        using (var oomControl = new FileStream(control, FileMode.Open, FileAccess.Read))
        {
            var line = $"{_eventFd} {oomControl.SafeFileHandle.DangerousGetHandle()}";
            File.WriteAllText(Path.Combine(memoryCgroup, "cgroup.event_control"), line);
        }
        _thread = new Thread(Watch) { IsBackground = true, Name = "oom " + Path.GetFileName(memoryCgroup) };
        _thread.Start();
    }

    /// <summary>The watched cgroup directory.</summary>
    public string Cgroup { get; }

    /// <summary>True once an OOM kill in the cgroup was seen.</summary>
    public bool OomKilled => _oom || OomKillCount() > 0;

    /// <summary>
    /// Whether the container that exited with <paramref name="exitCode"/> was OOM-killed. The OOM
    /// killer's SIGKILL makes 137; for that code the removal's signal may still be on its way (the
    /// kernel sends it from a work queue), so this waits up to a second for the count to settle.
    /// </summary>
    public async Task<bool> OomKilledAsync(int exitCode)
    {
        if (OomKilled || exitCode != 137) return OomKilled;
        for (var i = 0; i < 100 && !_oom; i++) await Task.Delay(10);
        return _oom;
    }

    private void Watch()
    {
        while (!_disposed)
        {
            var count = Native.ReadEventFd(_eventFd);
            if (_disposed) return;
            var total = Interlocked.Add(ref _signals, (long)count);
            if (OomKillCount() > 0 || total >= 2) _oom = true;
        }
    }

    /// <summary>The cgroup's oom_kill counter (kernel 4.13+), 0 when the cgroup is gone.</summary>
    private long OomKillCount()
    {
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(Cgroup, "memory.oom_control")))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal)) return long.Parse(line[9..], CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    /// <summary>Stops the reader (wakes it through the eventfd) and closes the eventfd.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.WriteEventFd(_eventFd, 1);
        _thread?.Join(TimeSpan.FromSeconds(1));
        Native.Close(_eventFd);
    }
}
