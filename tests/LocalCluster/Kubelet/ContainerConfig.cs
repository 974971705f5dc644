using System.Globalization;
using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// From a Pod's container to the runtime's <see cref="ContainerSpec"/>, as the kubelet's
/// <c>generateContainerConfig</c> (<c>pkg/kubelet/kuberuntime/kuberuntime_container.go</c>) and
/// <c>generateLinuxContainerResources</c> (<c>kuberuntime_container_linux.go</c>) build the CRI
/// config and containerd's CRI plugin turns it into an OCI spec
/// (<c>pkg/cri/server/container_create_linux.go</c>, <c>containerSpec</c>).
/// </summary>
internal static class ContainerConfig
{
    /// <summary>The memory controller's mount on this machine (cgroup v1).</summary>
    public const string MemoryCgroupRoot = "/sys/fs/cgroup/memory";

    /// <summary>The cgroup under which every container of the cluster runs, in every hierarchy.</summary>
    public const string ClusterCgroup = "/local-cluster";

    /// <summary>Builds the spec; throws <see cref="ContainerEnvironment.ConfigException"/> for what cannot be run.</summary>
    public static ContainerSpec Build(PodWorker pod, V1Container container, ImageConfig image, (Dictionary<string, string> Merged, Dictionary<string, string> Own) env, ResolvedSecurity security, string terminationLog)
    {
        // kubelet's ExpandContainerCommandAndArgs ($(VAR) from the container's env), then the CRI's
        // merge with the image (containerd WithProcessArgs): command replaces ENTRYPOINT and drops CMD;
        // args alone replace CMD.
        var command = (container.Command ?? []).Select(c => ContainerEnvironment.Expand(c, env.Own)).ToList();
        var args = (container.Args ?? []).Select(a => ContainerEnvironment.Expand(a, env.Own)).ToList();
        List<string> argv = command.Count > 0 ? [.. command, .. args]
            : [.. image.Entrypoint, .. (args.Count > 0 ? args : image.Cmd)];
        if (argv.Count == 0) throw new ContainerEnvironment.ConfigException("no command specified");

        var mounts = pod.Volumes.MountsFor(container);
        bool Mounted(string path) => mounts.Any(m => m.Destination == path);
        // kubelet_pods.go, makeMounts: the managed /etc/hosts (unless a volume is mounted there) and the
        // termination message file; containerd adds /etc/hostname and /etc/resolv.conf from the sandbox.
        if (!Mounted("/etc/hosts")) mounts.Add(OciMount.Bind("/etc/hosts", pod.HostsFile, readOnly: false));
        if (!Mounted("/etc/hostname")) mounts.Add(OciMount.Bind("/etc/hostname", pod.HostnameFile, readOnly: security.ReadOnlyRootFilesystem));
        if (!Mounted("/etc/resolv.conf")) mounts.Add(OciMount.Bind("/etc/resolv.conf", pod.ResolvConfFile, readOnly: security.ReadOnlyRootFilesystem));
        var terminationPath = container.TerminationMessagePath is { Length: > 0 } p ? p : "/dev/termination-log";
        if (!Mounted(terminationPath)) mounts.Add(OciMount.Bind(terminationPath, terminationLog, readOnly: false));

        var envList = env.Merged.Select(p => $"{p.Key}={p.Value}").ToList();

        System.Text.Json.Nodes.JsonObject? seccomp = security.Seccomp switch
        {
            "RuntimeDefault" => SeccompProfile.Resolve(security.Capabilities),
            "Unconfined" => null,
            var other => throw new ContainerEnvironment.ConfigException($"seccomp profile type {other} is not supported by this node (RuntimeDefault, Unconfined)"),
        };

        var limits = container.Resources?.Limits;
        var requests = container.Resources?.Requests;
        long? memory = limits is not null && limits.TryGetValue("memory", out var m) ? (long)m.ToDecimal() : null;
        var cpuLimit = limits is not null && limits.TryGetValue("cpu", out var c) ? (long)Math.Ceiling(c.ToDecimal() * 1000) : (long?)null;
        var cpuRequest = requests is not null && requests.TryGetValue("cpu", out var r) ? (long)Math.Ceiling(r.ToDecimal() * 1000) : cpuLimit ?? 0;

        return new ContainerSpec(
            Args: argv,
            Env: envList,
            Cwd: container.WorkingDir is { Length: > 0 } wd ? wd : image.WorkingDir is { Length: > 0 } iwd ? iwd : "/",
            Security: security,
            Seccomp: seccomp,
            Hostname: pod.Pod.Metadata.Name,
            NetworkNamespace: Path.Combine("/var/run/netns", pod.Netns),
            Mounts: mounts,
            CgroupsPath: $"{pod.CgroupParent}/{container.Name}",
            MemoryLimit: memory,
            // pkg/kubelet/cm/helpers_linux.go: MilliCPUToQuota (at least 1 ms) and MilliCPUToShares (at least 2).
            CpuQuota: cpuLimit is { } l ? Math.Max(l * ContainerSpec.CpuPeriod / 1000, 1000) : null,
            CpuShares: (ulong)Math.Max(cpuRequest * 1024 / 1000, 2),
            OomScoreAdj: OomScoreAdjust(pod.Pod, container));
    }

    /// <summary>The Pod's QoS class (<c>pkg/apis/core/v1/helper/qos/qos.go</c>, <c>GetPodQOS</c>).</summary>
    public static string QosClass(V1Pod pod)
    {
        var any = false;
        var guaranteed = true;
        foreach (var c in pod.Spec.Containers)
        {
            var limits = c.Resources?.Limits ?? new Dictionary<string, ResourceQuantity>();
            var requests = c.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>();
            any |= limits.Count > 0 || requests.Count > 0;
            foreach (var resource in new[] { "cpu", "memory" })
            {
                if (!limits.TryGetValue(resource, out var limit)) { guaranteed = false; continue; }
                if (requests.TryGetValue(resource, out var request) && request.ToDecimal() != limit.ToDecimal()) guaranteed = false;
            }
        }
        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    /// <summary>pkg/kubelet/qos/policy.go, GetContainerOOMScoreAdjust.</summary>
    private static int OomScoreAdjust(V1Pod pod, V1Container container)
    {
        switch (QosClass(pod))
        {
            case "Guaranteed": return -997;
            case "BestEffort": return 1000;
        }
        var request = container.Resources?.Requests is { } rq && rq.TryGetValue("memory", out var q) ? (long)q.ToDecimal() : 0;
        var capacity = MemoryCapacity();
        var adjust = 1000 - (int)(1000 * request / Math.Max(capacity, 1));
        if (adjust < 3) return 3;
        return adjust == 1000 ? 999 : adjust;
    }

    private static long MemoryCapacity()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
