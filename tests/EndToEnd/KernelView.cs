using System.Globalization;
using System.Text.Json.Nodes;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// What the kernel says about a container, not what the kubelet reports: its init process found
/// through runc (<c>runc --root &lt;state&gt;/runc state &lt;id&gt;</c>, the id from the Pod's
/// <c>containerID: runc://&lt;id&gt;</c>), and that process's /proc/&lt;pid&gt;/status and mountinfo.
/// </summary>
public static class KernelView
{
    /// <summary>The runc id in a container status's containerID (runc://ID).</summary>
    public static string ContainerId(JsonNode containerStatus)
    {
        var id = (string?)containerStatus["containerID"] ?? throw new InvalidOperationException($"no containerID in {containerStatus.ToJsonString()}");
        Assert.StartsWith("runc://", id, StringComparison.Ordinal);
        return id["runc://".Length..];
    }

    /// <summary>The init pid of the running container <paramref name="id"/>, 0 when runc does not know it.</summary>
    public static async Task<int> PidAsync(string stateDir, string id)
    {
        var state = await Shell.RunAsync("runc", ["--root", Path.Combine(stateDir, "runc"), "state", id], TimeSpan.FromSeconds(30));
        return state.ExitCode == 0 ? (int?)JsonNode.Parse(state.Output)!["pid"] ?? 0 : 0;
    }

    /// <summary>A field of /proc/PID/status (e.g. Uid, CapEff, NoNewPrivs, Seccomp), trimmed.</summary>
    public static string Status(int pid, string field) =>
        File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim();

    /// <summary>The capability set of a CapEff/CapBnd line as a number.</summary>
    public static ulong Caps(int pid, string field) => ulong.Parse(Status(pid, field), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The mount options of the process's root (/) from its mountinfo (field 6).</summary>
    public static string RootMountOptions(int pid) =>
        File.ReadLines($"/proc/{pid}/mountinfo").Select(l => l.Split(' ')).Last(f => f[4] == "/")[5];

    /// <summary>The process's mount at <paramref name="path"/>: (options, filesystem type), null when none.</summary>
    public static (string Options, string FsType)? Mount(int pid, string path)
    {
        var fields = File.ReadLines($"/proc/{pid}/mountinfo").Select(l => l.Split(' ')).LastOrDefault(f => f[4] == path);
        if (fields is null) return null;
        var dash = Array.IndexOf(fields, "-");
        return (fields[5], fields[dash + 1]);
    }

    /// <summary>The process's cgroup path in one v1 hierarchy (e.g. memory).</summary>
    public static string Cgroup(int pid, string controller) =>
        File.ReadLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).First(f => f[1].Split(',').Contains(controller))[2];

    /// <summary>Mount points at or below <paramref name="prefix"/> in the host's mount namespace.</summary>
    public static List<string> MountsUnder(string prefix) =>
        [.. File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(p => p == prefix || p.StartsWith(prefix + "/", StringComparison.Ordinal))];

    /// <summary>The ids runc lists under the cluster's state (none when its root is gone).</summary>
    public static async Task<List<string>> RuncIdsAsync(string stateDir)
    {
        var root = Path.Combine(stateDir, "runc");
        if (!Directory.Exists(root)) return [];
        var list = await Shell.RunAsync("runc", ["--root", root, "list", "-q"], TimeSpan.FromSeconds(30));
        return [.. list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}
