using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// The security context of the db container, for a MySQL image that needs more than the default
/// (which keeps CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID, drops every other capability and
/// forbids privilege escalation). Set: replaces the default as a whole. Only what Pod Security
/// "baseline" allows can be written here: no privileged mode, no host process, capabilities from the
/// baseline list only, no Unconfined seccomp profile; so every valid UserApi's Pods pass baseline.
/// A subset of the Pod API's SecurityContext (not k8s.Models' V1SecurityContext, whose privileged,
/// procMount, seLinuxOptions and free-form capability lists could express a baseline violation).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class DatabaseSecurityContextSpec
{
    /// <summary>User ID the container's processes run as; unset: the image's user.</summary>
    [Range(0, 2147483647)]
    public long? RunAsUser { get; set; }

    /// <summary>Group ID the container's processes run as; unset: the image's group.</summary>
    [Range(0, 2147483647)]
    public long? RunAsGroup { get; set; }

    /// <summary>true: the kubelet refuses to start the container as root (UID 0).</summary>
    public bool? RunAsNonRoot { get; set; }

    /// <summary>Whether a process may gain more privileges than its parent (setuid binaries); unset: the runtime's default (true).</summary>
    public bool? AllowPrivilegeEscalation { get; set; }

    /// <summary>true: the container's root filesystem is mounted read-only.</summary>
    public bool? ReadOnlyRootFilesystem { get; set; }

    /// <summary>Linux capabilities added to and dropped from the runtime's default set.</summary>
    public BaselineCapabilities? Capabilities { get; set; }

    /// <summary>Seccomp profile of the container; unset: the Pod's (RuntimeDefault).</summary>
    public BaselineSeccompProfile? SeccompProfile { get; set; }
}

/// <summary>Capabilities of the db container; additions limited to what Pod Security "baseline" allows.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class BaselineCapabilities
{
    /// <summary>Capabilities added: only those of Pod Security "baseline" (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT).</summary>
    [MaxLength(13)]
    public IList<BaselineCapability>? Add { get; set; }

    /// <summary>Capabilities dropped, for example ALL.</summary>
    [MaxLength(64)]
    public IList<string>? Drop { get; set; }
}

/// <summary>A seccomp profile that Pod Security "baseline" allows (not Unconfined).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("self.type != 'Localhost' || has(self.localhostProfile)", Message = "a Localhost seccomp profile needs localhostProfile", FieldPath = ".localhostProfile", Reason = "FieldValueRequired")]
public sealed class BaselineSeccompProfile
{
    /// <summary>RuntimeDefault (the container runtime's filter) or Localhost (a file on the node).</summary>
    [Required]
    public SeccompProfileType Type { get; set; } = SeccompProfileType.RuntimeDefault;

    /// <summary>With type Localhost: path of the profile, relative to the kubelet's seccomp directory.</summary>
    [MinLength(1)]
    public string? LocalhostProfile { get; set; }
}

/// <summary>Seccomp profile types that Pod Security "baseline" allows.</summary>
public enum SeccompProfileType
{
    /// <summary>The container runtime's default filter.</summary>
    RuntimeDefault,

    /// <summary>A profile file on the node.</summary>
    Localhost,
}

/// <summary>The capabilities Pod Security "baseline" allows a container to add (Kubernetes docs, "Pod Security Standards", Capabilities).</summary>
#pragma warning disable CA1707 // The names are the Linux capability names, as written in a Pod.
public enum BaselineCapability
{
    /// <summary>Write the kernel audit log.</summary>
    AUDIT_WRITE,

    /// <summary>Change file owners.</summary>
    CHOWN,

    /// <summary>Bypass file permission checks.</summary>
    DAC_OVERRIDE,

    /// <summary>Bypass checks that need the file's owner.</summary>
    FOWNER,

    /// <summary>Keep set-user/group-ID bits on modified files.</summary>
    FSETID,

    /// <summary>Send signals to any process.</summary>
    KILL,

    /// <summary>Create special files.</summary>
    MKNOD,

    /// <summary>Bind ports below 1024.</summary>
    NET_BIND_SERVICE,

    /// <summary>Set file capabilities.</summary>
    SETFCAP,

    /// <summary>Change group IDs.</summary>
    SETGID,

    /// <summary>Change capabilities of other processes.</summary>
    SETPCAP,

    /// <summary>Change user IDs.</summary>
    SETUID,

    /// <summary>Use chroot.</summary>
    SYS_CHROOT,
}
#pragma warning restore CA1707
