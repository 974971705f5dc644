namespace UserApiOperator.Kubernetes.Models;

/// <summary>Container security options (<c>core/v1 SecurityContext</c>).</summary>
public sealed class V1SecurityContext
{
    /// <summary>True makes the kubelet refuse to start the container as UID 0.</summary>
    public bool? RunAsNonRoot { get; set; }

    /// <summary>True mounts the container's root filesystem read-only.</summary>
    public bool? ReadOnlyRootFilesystem { get; set; }

    /// <summary>False forbids gaining more privileges than the parent process (no_new_privs).</summary>
    public bool? AllowPrivilegeEscalation { get; set; }

    /// <summary>Linux capabilities to add or drop.</summary>
    public V1Capabilities? Capabilities { get; set; }

    /// <summary>Seccomp profile, for example <c>RuntimeDefault</c>.</summary>
    public V1SeccompProfile? SeccompProfile { get; set; }
}

/// <summary>Linux capabilities to add or drop, for example <c>drop: [ALL]</c>.</summary>
public sealed class V1Capabilities
{
    /// <summary>Capabilities removed from the default set.</summary>
    public IList<string>? Drop { get; set; }
}

/// <summary>A seccomp profile.</summary>
public sealed class V1SeccompProfile
{
    /// <summary><c>RuntimeDefault</c>, <c>Localhost</c> or <c>Unconfined</c>.</summary>
    public required string Type { get; set; }
}
