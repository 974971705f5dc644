using System.Globalization;
using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// A container's security as the runtime applies it: the process's uid, gid and supplementary
/// groups, its capabilities, no_new_privs, a read-only root, and the seccomp profile.
/// </summary>
/// <param name="Uid">Process uid.</param>
/// <param name="Gid">Process gid.</param>
/// <param name="AdditionalGids">Supplementary groups (the image's /etc/group membership, supplementalGroups, fsGroup).</param>
/// <param name="Capabilities">Bounding, effective and permitted set, <c>CAP_*</c> names.</param>
/// <param name="NoNewPrivileges">prctl(PR_SET_NO_NEW_PRIVS) (allowPrivilegeEscalation: false).</param>
/// <param name="ReadOnlyRootFilesystem">The overlay root mounted read-only.</param>
/// <param name="Privileged">privileged: every capability, no seccomp, no masked paths.</param>
/// <param name="Seccomp">RuntimeDefault, Unconfined or Localhost (the effective seccompProfile.type).</param>
internal sealed record ResolvedSecurity(
    long Uid, long Gid, IReadOnlyList<long> AdditionalGids, IReadOnlyList<string> Capabilities,
    bool NoNewPrivileges, bool ReadOnlyRootFilesystem, bool Privileged, string Seccomp);

/// <summary>
/// From a Pod's and a container's securityContext and the image's USER to a
/// <see cref="ResolvedSecurity"/>, following the kubelet (<c>pkg/securitycontext/util.go</c>,
/// <c>DetermineEffectiveSecurityContext</c>: the container's fields win over the Pod's;
/// <c>pkg/kubelet/kuberuntime/security_context.go</c>, <c>determineEffectiveSecurityContext</c>:
/// fsGroup and supplementalGroups become supplementary groups;
/// <c>security_context_others.go</c>, <c>verifyRunAsNonRoot</c>) and containerd's CRI plugin
/// (<c>pkg/cri/opts/spec_linux.go</c>, <c>WithCapabilities</c>: add ALL, drop ALL, then the named
/// ones; <c>oci/spec_opts.go</c>, <c>WithUser</c>, <c>WithUserID</c>, <c>WithAdditionalGIDs</c>: names
/// resolved through the image's /etc/passwd and /etc/group).
/// </summary>
internal static class ContainerSecurity
{
    /// <summary>
    /// containerd's default capability set (<c>oci/spec.go</c>, <c>populateDefaultUnixSpec</c>,
    /// <c>defaultUnixCaps</c>; Docker's is the same 14).
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>Every capability this kernel knows (/proc/sys/kernel/cap_last_cap), for add: [ALL] and privileged.</summary>
    public static IReadOnlyList<string> AllCapabilities()
    {
        string[] names =
        [
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
            "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
            "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
            "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
            "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
            "CHECKPOINT_RESTORE",
        ];
        var last = int.TryParse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), out var n) ? n : names.Length - 1;
        return [.. names.Take(Math.Min(last + 1, names.Length)).Select(c => "CAP_" + c)];
    }

    /// <summary>
    /// Resolves the container's security; throws <see cref="ContainerEnvironment.ConfigException"/>
    /// (the container waits in CreateContainerConfigError) with the kubelet's message when
    /// runAsNonRoot cannot be honoured.
    /// </summary>
    public static ResolvedSecurity Resolve(V1Pod pod, V1Container container, ImageConfig image)
    {
        var podSc = pod.Spec.SecurityContext;
        var sc = container.SecurityContext;
        var runAsUser = sc?.RunAsUser ?? podSc?.RunAsUser;
        var runAsGroup = sc?.RunAsGroup ?? podSc?.RunAsGroup;
        var runAsNonRoot = sc?.RunAsNonRoot ?? podSc?.RunAsNonRoot;

        // kuberuntime_container.go, getImageUser: "uid[:gid]" or a name; no USER means root (uid 0).
        var imageUser = image.User.Split(':', 2)[0];
        long? imageUid = imageUser.Length == 0 ? 0 : long.TryParse(imageUser, NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : null;
        var imageUserName = imageUid is null ? imageUser : "";
        if (runAsNonRoot == true)
        {
            var podName = $"{pod.Metadata.Name}_{pod.Metadata.NamespaceProperty}({pod.Metadata.Uid})";
            if (runAsUser is not null)
            {
                if (runAsUser == 0) throw new ContainerEnvironment.ConfigException($"container's runAsUser breaks non-root policy (pod: \"{podName}\", container: {container.Name})");
            }
            else if (imageUid == 0)
            {
                throw new ContainerEnvironment.ConfigException($"container has runAsNonRoot and image will run as root (pod: \"{podName}\", container: {container.Name})");
            }
            else if (imageUid is null && imageUserName.Length > 0)
            {
                throw new ContainerEnvironment.ConfigException($"container has runAsNonRoot and image has non-numeric user ({imageUserName}), cannot verify user is non-root (pod: \"{podName}\", container: {container.Name})");
            }
        }

        var passwd = ReadTable(image.RootFs, "etc/passwd");
        var groups = ReadTable(image.RootFs, "etc/group");
        long uid, gid;
        string? userName;
        if (runAsUser is { } ru)
        {
            // WithUserID: the gid of the uid's passwd entry, else 0.
            uid = ru;
            var entry = passwd.FirstOrDefault(p => p.Length > 3 && p[2] == ru.ToString(CultureInfo.InvariantCulture));
            userName = entry?[0];
            gid = runAsGroup ?? (entry is not null && long.TryParse(entry[3], CultureInfo.InvariantCulture, out var g) ? g : 0);
        }
        else
        {
            // WithUser: "uid", "uid:gid", "name", "name:group" against the image's files.
            var parts = image.User.Split(':', 2);
            (uid, gid, userName) = ResolveUser(parts[0], passwd, image);
            if (parts.Length == 2)
            {
                gid = long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g
                    : groups.FirstOrDefault(e => e.Length > 2 && e[0] == parts[1]) is { } ge ? long.Parse(ge[2], CultureInfo.InvariantCulture)
                    : throw new ContainerEnvironment.ConfigException($"unable to find group {parts[1]}: no matching entries in group file");
            }
            if (runAsGroup is { } rg) gid = rg;
        }

        // WithAdditionalGIDs: the groups of /etc/group that list the user by name; then the Pod's.
        var additional = new List<long>();
        if (userName is not null)
        {
            foreach (var e in groups.Where(e => e.Length > 3 && e[3].Split(',').Contains(userName)))
            {
                if (long.TryParse(e[2], CultureInfo.InvariantCulture, out var g) && g != gid) additional.Add(g);
            }
        }
        additional.AddRange((podSc?.SupplementalGroups ?? []).OfType<long>());
        if (podSc?.FsGroup is { } fsGroup) additional.Add(fsGroup);

        var privileged = sc?.Privileged == true;
        var caps = new List<string>(privileged ? AllCapabilities() : DefaultCapabilities);
        if (!privileged && sc?.Capabilities is { } c)
        {
            string Cap(string name) => "CAP_" + name.ToUpperInvariant().Replace("CAP_", "", StringComparison.Ordinal);
            if (c.Add?.Any(a => a.Equals("ALL", StringComparison.OrdinalIgnoreCase)) == true) caps = [.. AllCapabilities()];
            if (c.Drop?.Any(d => d.Equals("ALL", StringComparison.OrdinalIgnoreCase)) == true) caps.Clear();
            foreach (var a in c.Add?.Where(a => !a.Equals("ALL", StringComparison.OrdinalIgnoreCase)) ?? []) if (!caps.Contains(Cap(a))) caps.Add(Cap(a));
            foreach (var d in c.Drop?.Where(d => !d.Equals("ALL", StringComparison.OrdinalIgnoreCase)) ?? []) caps.Remove(Cap(d));
        }

        // kuberuntime/helpers.go, getSeccompProfile: the container's profile, else the Pod's, else Unconfined
        // (the kubelet's --seccomp-default is off by default).
        var seccomp = privileged ? "Unconfined" : (sc?.SeccompProfile ?? podSc?.SeccompProfile)?.Type ?? "Unconfined";

        return new ResolvedSecurity(uid, gid, [.. additional.Distinct()], caps,
            NoNewPrivileges: sc?.AllowPrivilegeEscalation == false,
            ReadOnlyRootFilesystem: sc?.ReadOnlyRootFilesystem == true,
            Privileged: privileged,
            Seccomp: seccomp);
    }

    private static (long Uid, long Gid, string? Name) ResolveUser(string user, List<string[]> passwd, ImageConfig image)
    {
        if (user.Length == 0) return (0, 0, "root");
        if (long.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
        {
            var byUid = passwd.FirstOrDefault(p => p.Length > 3 && p[2] == user);
            return (uid, byUid is not null && long.TryParse(byUid[3], CultureInfo.InvariantCulture, out var g) ? g : 0, byUid?[0]);
        }
        var byName = passwd.FirstOrDefault(p => p.Length > 3 && p[0] == user)
            ?? throw new ContainerEnvironment.ConfigException($"unable to find user {user}: no matching entries in passwd file of image {image.Name}");
        return (long.Parse(byName[2], CultureInfo.InvariantCulture), long.Parse(byName[3], CultureInfo.InvariantCulture), user);
    }

    /// <summary>The colon-separated entries of an /etc/passwd or /etc/group file in the image (none when it has no such file).</summary>
    private static List<string[]> ReadTable(string rootfs, string relative)
    {
        var path = Path.Combine(rootfs, relative);
        try
        {
            // A symlink inside the image resolves against the image's root, not the host's.
            if (new FileInfo(path).LinkTarget is { } target)
            {
                path = target.StartsWith('/') ? Path.Combine(rootfs, target.TrimStart('/')) : Path.Combine(Path.GetDirectoryName(path)!, target);
            }
            return File.Exists(path) ? [.. File.ReadLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(':'))] : [];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
