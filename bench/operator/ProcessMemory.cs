using System.Globalization;

namespace UserApiOperator.Bench;

/// <summary>
/// The kernel's view of a process's memory and CPU, from <c>/proc/PID/status</c> and <c>/proc/PID/stat</c>.
/// </summary>
/// <param name="PeakRss">Peak resident set size (<c>VmHWM</c>), bytes.</param>
/// <param name="Rss">Resident set size now (<c>VmRSS</c>), bytes.</param>
/// <param name="RssAnon">Resident anonymous memory now (<c>RssAnon</c>: the GC heap, native allocations, JIT code), bytes.</param>
/// <param name="RssFile">Resident file-backed memory now (<c>RssFile</c>: mapped assemblies and native libraries), bytes.</param>
/// <param name="CpuSeconds">User plus system CPU time so far (<c>utime</c> + <c>stime</c>, at 100 ticks a second), seconds.</param>
internal sealed record ProcessMemory(long PeakRss, long Rss, long RssAnon, long RssFile, double CpuSeconds)
{
    /// <summary>Reads the figures of process <paramref name="pid"/>.</summary>
    public static ProcessMemory Of(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        long Kb(string key) => status.Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024)
            .FirstOrDefault();
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new ProcessMemory(Kb("VmHWM:"), Kb("VmRSS:"), Kb("RssAnon:"), Kb("RssFile:"), ticks / 100.0);
    }

    /// <summary>Bytes as megabytes (10^6) with one decimal, as the benchmark prints them.</summary>
    public static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB";
}
