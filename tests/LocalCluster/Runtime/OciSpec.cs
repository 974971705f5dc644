using System.Text.Json.Nodes;

namespace LocalCluster.Runtime;

/// <summary>One mount of a container (OCI runtime-spec <c>mounts[]</c>).</summary>
/// <param name="Destination">Path inside the container.</param>
/// <param name="Type">Filesystem type (<c>bind</c>, <c>proc</c>, <c>tmpfs</c>, ...).</param>
/// <param name="Source">Host path or the filesystem's source name.</param>
/// <param name="Options">Mount options, e.g. <c>rbind</c>, <c>ro</c>.</param>
internal sealed record OciMount(string Destination, string Type, string Source, IReadOnlyList<string> Options)
{
    /// <summary>A bind mount of a host path, read-only when <paramref name="readOnly"/>.</summary>
    public static OciMount Bind(string destination, string source, bool readOnly) =>
        new(destination, "bind", source, readOnly ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate", "rw"]);
}

/// <summary>Everything a container's <c>config.json</c> is made of.</summary>
/// <param name="Args">process.args.</param>
/// <param name="Env">process.env (NAME=value).</param>
/// <param name="Cwd">process.cwd.</param>
/// <param name="Security">User, groups, capabilities, no_new_privs, read-only root, seccomp.</param>
/// <param name="Seccomp">linux.seccomp, null for none.</param>
/// <param name="Hostname">The UTS namespace's hostname (the Pod's name).</param>
/// <param name="NetworkNamespace">Path of the Pod's network namespace (/var/run/netns/NAME).</param>
/// <param name="Mounts">The container's mounts besides the defaults (volumes, /etc/hosts, ...).</param>
/// <param name="CgroupsPath">linux.cgroupsPath, e.g. /local-cluster/pod&lt;uid&gt;/&lt;container&gt;.</param>
/// <param name="MemoryLimit">Bytes, null for none.</param>
/// <param name="CpuQuota">CFS quota in µs per <see cref="CpuPeriod"/>, null for none.</param>
/// <param name="CpuShares">cpu.shares.</param>
/// <param name="OomScoreAdj">process.oomScoreAdj.</param>
internal sealed record ContainerSpec(
    IReadOnlyList<string> Args,
    IReadOnlyList<string> Env,
    string Cwd,
    Kubelet.ResolvedSecurity Security,
    JsonObject? Seccomp,
    string Hostname,
    string NetworkNamespace,
    IReadOnlyList<OciMount> Mounts,
    string CgroupsPath,
    long? MemoryLimit,
    long? CpuQuota,
    ulong CpuShares,
    int OomScoreAdj)
{
    /// <summary>The CFS period the kubelet uses (100 ms, in µs).</summary>
    public const long CpuPeriod = 100_000;
}

/// <summary>
/// Writes an OCI runtime config (runtime-spec 1.0.2, what runc 1.1 reads) from a
/// <see cref="ContainerSpec"/>, with the defaults containerd's CRI plugin starts every container
/// from (containerd <c>oci/spec.go</c>, <c>populateDefaultUnixSpec</c>: /proc, /dev, /dev/pts,
/// /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup mounts, masked and read-only paths, the 14 default
/// capabilities, RLIMIT_NOFILE; <c>pkg/cri/server/container_create_linux.go</c>,
/// <c>containerSpec</c>: namespaces, the sandbox's network namespace, cgroups parent, resources,
/// no_new_privs, seccomp, the read-only root).
/// </summary>
internal static class OciSpec
{
    /// <summary>containerd's masked paths (<c>populateDefaultUnixSpec</c>).</summary>
    public static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap",
    ];

    /// <summary>containerd's read-only paths (<c>populateDefaultUnixSpec</c>).</summary>
    public static readonly string[] ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>This process's hard limit of open files (/proc/self/limits), which a container may not exceed.</summary>
    private static readonly Lazy<ulong> OpenFileLimit = new(() =>
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: >= 5 } && ulong.TryParse(fields[4], out var hard) ? hard : 1024;
    });

    /// <summary>The config.json text for <paramref name="spec"/> with the root filesystem at <paramref name="rootfs"/>.</summary>
    public static string Build(ContainerSpec spec, string rootfs)
    {
        var s = spec.Security;
        var caps = new JsonArray([.. s.Capabilities.Select(c => (JsonNode)c)]);
        var process = new JsonObject
        {
            ["terminal"] = false,
            ["user"] = new JsonObject
            {
                ["uid"] = s.Uid,
                ["gid"] = s.Gid,
                ["additionalGids"] = new JsonArray([.. s.AdditionalGids.Select(g => (JsonNode)g)]),
            },
            ["args"] = new JsonArray([.. spec.Args.Select(a => (JsonNode)a)]),
            ["env"] = new JsonArray([.. spec.Env.Select(e => (JsonNode)e)]),
            ["cwd"] = spec.Cwd,
            ["capabilities"] = new JsonObject
            {
                ["bounding"] = caps.DeepClone(),
                ["effective"] = caps.DeepClone(),
                ["permitted"] = caps.DeepClone(),
            },
            // A CRI container inherits containerd's open-file limit (its unit's LimitNOFILE); here, the kubelet's.
            ["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["hard"] = OpenFileLimit.Value, ["soft"] = OpenFileLimit.Value }),
            ["noNewPrivileges"] = s.NoNewPrivileges,
            ["oomScoreAdj"] = spec.OomScoreAdj,
        };

        var mounts = new JsonArray
        {
            Mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            Mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            Mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", s.Privileged ? "rw" : "ro"]),
            Mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", s.Privileged ? "rw" : "ro"]),
        };
        foreach (var m in spec.Mounts) mounts.Add(Mount(m.Destination, m.Type, m.Source, m.Options));

        var resources = new JsonObject
        {
            ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
            ["cpu"] = new JsonObject { ["shares"] = spec.CpuShares },
        };
        if (spec.CpuQuota is { } quota)
        {
            resources["cpu"]!["quota"] = quota;
            resources["cpu"]!["period"] = ContainerSpec.CpuPeriod;
        }
        if (spec.MemoryLimit is { } limit) resources["memory"] = new JsonObject { ["limit"] = limit };

        var linux = new JsonObject
        {
            ["resources"] = resources,
            ["cgroupsPath"] = spec.CgroupsPath,
            ["namespaces"] = new JsonArray
            {
                new JsonObject { ["type"] = "pid" },
                new JsonObject { ["type"] = "network", ["path"] = spec.NetworkNamespace },
                new JsonObject { ["type"] = "ipc" },
                new JsonObject { ["type"] = "uts" },
                new JsonObject { ["type"] = "mount" },
            },
        };
        if (!s.Privileged)
        {
            linux["maskedPaths"] = new JsonArray([.. MaskedPaths.Select(p => (JsonNode)p)]);
            linux["readonlyPaths"] = new JsonArray([.. ReadonlyPaths.Select(p => (JsonNode)p)]);
        }
        if (spec.Seccomp is not null) linux["seccomp"] = spec.Seccomp.DeepClone();

        var config = new JsonObject
        {
            ["ociVersion"] = "1.0.2-dev",
            ["process"] = process,
            ["root"] = new JsonObject { ["path"] = rootfs, ["readonly"] = s.ReadOnlyRootFilesystem },
            ["hostname"] = spec.Hostname,
            ["mounts"] = mounts,
            ["linux"] = linux,
        };
        return config.ToJsonString();
    }

    private static JsonObject Mount(string destination, string type, string source, IEnumerable<string> options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = new JsonArray([.. options.Select(o => (JsonNode)o)]),
    };
}
