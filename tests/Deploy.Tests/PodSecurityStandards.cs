using System.Text.Json.Nodes;
using static UserApiOperator.Deploy.Tests.Manifest;

namespace UserApiOperator.Deploy.Tests;

/// <summary>The two enforcing levels of the Pod Security Standards.</summary>
public enum PodSecurityLevel
{
    /// <summary>Prevents known privilege escalations; what most clusters enforce.</summary>
    Baseline,

    /// <summary>Current hardening best practice; implies <see cref="Baseline"/>.</summary>
    Restricted,
}

/// <summary>
/// The checks of the Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/,
/// policy version 1.25 and later) on a Pod spec, as the Pod Security admission controller makes them
/// (<c>staging/src/k8s.io/pod-security-admission/policy/check_*.go</c> in kubernetes/kubernetes).
/// Each violation is one line naming the container (or the Pod) and the field. A check limited to
/// some containers (<c>containers</c>) applies the container-level rules to those containers only and
/// the Pod-level rules to the Pod; the Pod-level fields (<c>securityContext.runAsNonRoot</c>,
/// <c>seccompProfile</c>, <c>runAsUser</c>) still count for every container, as in the admission code.
/// Windows-only rules (hostProcess) are checked as "not set".
/// </summary>
public static class PodSecurityStandards
{
    // check_capabilities_baseline.go: the capabilities a baseline container may add.
    private static readonly HashSet<string> BaselineCapabilities =
    [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    ];

    // check_sysctls.go (policy 1.32: the safe set of the kubelet).
    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
    ];

    // check_selinuxOptions.go
    private static readonly HashSet<string> SeLinuxTypes = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    // check_restrictedVolumes.go
    private static readonly HashSet<string> RestrictedVolumeSources =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    /// <summary>The violations of <paramref name="level"/> by the Pod spec <paramref name="podSpec"/>; empty when it passes.</summary>
    /// <param name="podSpec">A Pod's <c>spec</c> (or a Deployment's <c>spec.template.spec</c>).</param>
    /// <param name="level">The level to check.</param>
    /// <param name="containers">Container names the container-level rules apply to; null for all.</param>
    public static IReadOnlyList<string> Violations(JsonNode podSpec, PodSecurityLevel level, IReadOnlyCollection<string>? containers = null)
    {
        ArgumentNullException.ThrowIfNull(podSpec);
        var found = new List<string>();
        var pod = At(podSpec, "securityContext");

        // Baseline, Pod level: host namespaces, hostPath volumes, seccomp, SELinux, sysctls, hostProcess.
        foreach (var field in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            if (At(podSpec, field)?.GetValue<bool>() == true)
            {
                found.Add($"pod: spec.{field} must not be true (baseline, host namespaces)");
            }
        }

        foreach (var volume in Items(podSpec, "volumes"))
        {
            if (volume.ContainsKey("hostPath"))
            {
                found.Add($"pod: volume {Str(volume, "name")} uses hostPath (baseline)");
            }

            if (level == PodSecurityLevel.Restricted && !volume.Select(p => p.Key).Any(RestrictedVolumeSources.Contains))
            {
                found.Add($"pod: volume {Str(volume, "name")} has a type restricted does not allow");
            }
        }

        CheckBaselineContext(pod, "pod: spec.securityContext", found);
        foreach (var sysctl in Items(pod, "sysctls"))
        {
            if (!SafeSysctls.Contains(Str(sysctl, "name") ?? ""))
            {
                found.Add($"pod: sysctl {Str(sysctl, "name")} is not in the safe set (baseline)");
            }
        }

        foreach (var container in Items(podSpec, "initContainers").Concat(Items(podSpec, "containers")).Concat(Items(podSpec, "ephemeralContainers")))
        {
            var name = Str(container, "name") ?? "";
            if (containers is not null && !containers.Contains(name))
            {
                continue;
            }

            var what = $"container {name}";
            var context = At(container, "securityContext");
            if (At(context, "privileged")?.GetValue<bool>() == true)
            {
                found.Add($"{what}: securityContext.privileged must not be true (baseline)");
            }

            foreach (var added in Strings(context, "capabilities", "add"))
            {
                if (!BaselineCapabilities.Contains(added))
                {
                    found.Add($"{what}: capability {added} may not be added (baseline)");
                }
                else if (level == PodSecurityLevel.Restricted && added != "NET_BIND_SERVICE")
                {
                    found.Add($"{what}: capability {added} may not be added (restricted: only NET_BIND_SERVICE)");
                }
            }

            foreach (var port in Items(container, "ports"))
            {
                if ((At(port, "hostPort")?.GetValue<int>() ?? 0) != 0)
                {
                    found.Add($"{what}: port {Str(port, "name")} sets hostPort (baseline)");
                }
            }

            if (Str(context, "procMount") is { } procMount && procMount != "Default")
            {
                found.Add($"{what}: securityContext.procMount must be Default (baseline)");
            }

            CheckBaselineContext(context, $"{what}: securityContext", found);
            if (level == PodSecurityLevel.Restricted)
            {
                CheckRestricted(what, pod, context, found);
            }
        }

        return found;
    }

    private static void CheckBaselineContext(JsonNode? context, string what, List<string> found)
    {
        if (Str(context, "seccompProfile", "type") == "Unconfined")
        {
            found.Add($"{what}.seccompProfile.type must not be Unconfined (baseline)");
        }

        if (!SeLinuxTypes.Contains(Str(context, "seLinuxOptions", "type") ?? "")
            || Str(context, "seLinuxOptions", "user") is { Length: > 0 }
            || Str(context, "seLinuxOptions", "role") is { Length: > 0 })
        {
            found.Add($"{what}.seLinuxOptions sets a type, user or role baseline forbids");
        }

        if (Str(context, "appArmorProfile", "type") is "Unconfined")
        {
            found.Add($"{what}.appArmorProfile.type must not be Unconfined (baseline)");
        }

        if (At(context, "windowsOptions", "hostProcess")?.GetValue<bool>() == true)
        {
            found.Add($"{what}.windowsOptions.hostProcess must not be true (baseline)");
        }
    }

    private static void CheckRestricted(string what, JsonNode? pod, JsonNode? context, List<string> found)
    {
        // check_allowPrivilegeEscalation.go: must be set to false on every container.
        if (At(context, "allowPrivilegeEscalation")?.GetValue<bool>() != false)
        {
            found.Add($"{what}: securityContext.allowPrivilegeEscalation must be false (restricted)");
        }

        // check_runAsNonRoot.go: true on the container, or on the Pod and not false on the container.
        var nonRoot = At(context, "runAsNonRoot")?.GetValue<bool>() ?? At(pod, "runAsNonRoot")?.GetValue<bool>();
        if (nonRoot != true)
        {
            found.Add($"{what}: runAsNonRoot must be true on the container or the Pod (restricted)");
        }

        // check_runAsUser.go: never 0, on the container or the Pod.
        if ((At(context, "runAsUser") ?? At(pod, "runAsUser"))?.GetValue<long>() == 0)
        {
            found.Add($"{what}: runAsUser must not be 0 (restricted)");
        }

        // check_seccompProfile_restricted.go: RuntimeDefault or Localhost, on the container or the Pod.
        var seccomp = Str(context, "seccompProfile", "type") ?? Str(pod, "seccompProfile", "type");
        if (seccomp is not ("RuntimeDefault" or "Localhost"))
        {
            found.Add($"{what}: seccompProfile.type must be RuntimeDefault or Localhost on the container or the Pod (restricted)");
        }

        // check_capabilities_restricted.go: ALL must be dropped.
        if (!Strings(context, "capabilities", "drop").Contains("ALL"))
        {
            found.Add($"{what}: securityContext.capabilities.drop must contain ALL (restricted)");
        }
    }
}
