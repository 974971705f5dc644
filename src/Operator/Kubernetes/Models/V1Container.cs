namespace UserApiOperator.Kubernetes.Models;

/// <summary>The parts of a container (<c>core/v1 Container</c>) this operator sets.</summary>
public sealed class V1Container
{
    /// <summary>Container name, unique within the Pod.</summary>
    public required string Name { get; set; }

    /// <summary>Image reference.</summary>
    public required string Image { get; set; }

    /// <summary>Arguments to the image's entrypoint.</summary>
    public IList<string>? Args { get; set; }

    /// <summary><c>Always</c>, <c>IfNotPresent</c> or <c>Never</c>; unset lets the server default it.</summary>
    public string? ImagePullPolicy { get; set; }

    /// <summary>Environment variables.</summary>
    public IList<V1EnvVar>? Env { get; set; }

    /// <summary>Ports the container listens on.</summary>
    public IList<V1ContainerPort>? Ports { get; set; }

    /// <summary>Restarts the container when it fails.</summary>
    public V1Probe? LivenessProbe { get; set; }

    /// <summary>Removes the Pod from Service endpoints while it fails.</summary>
    public V1Probe? ReadinessProbe { get; set; }

    /// <summary>Compute resources.</summary>
    public V1ResourceRequirements? Resources { get; set; }

    /// <summary>Security options of the container.</summary>
    public V1SecurityContext? SecurityContext { get; set; }

    /// <summary>Volumes mounted into the container.</summary>
    public IList<V1VolumeMount>? VolumeMounts { get; set; }
}

/// <summary>An environment variable: a literal value or a reference.</summary>
public sealed class V1EnvVar
{
    /// <summary>Variable name.</summary>
    public required string Name { get; set; }

    /// <summary>Literal value.</summary>
    public string? Value { get; set; }

    /// <summary>Source of the value when it is not literal.</summary>
    public V1EnvVarSource? ValueFrom { get; set; }
}

/// <summary>Source of an environment variable's value.</summary>
public sealed class V1EnvVarSource
{
    /// <summary>A key of a Secret in the Pod's namespace.</summary>
    public V1SecretKeySelector? SecretKeyRef { get; set; }
}

/// <summary>Selects one key of a Secret.</summary>
public sealed class V1SecretKeySelector
{
    /// <summary>Secret name.</summary>
    public required string Name { get; set; }

    /// <summary>Key within the Secret's data.</summary>
    public required string Key { get; set; }
}

/// <summary>A port a container listens on.</summary>
public sealed class V1ContainerPort
{
    /// <summary>Port name (IANA_SVC_NAME, at most 15 characters), referenced by probes and Services.</summary>
    public string? Name { get; set; }

    /// <summary>Port number, 1..65535.</summary>
    public required int ContainerPort { get; set; }

    /// <summary><c>TCP</c>, <c>UDP</c> or <c>SCTP</c>.</summary>
    public string? Protocol { get; set; }
}

/// <summary>Where a volume is mounted in a container.</summary>
public sealed class V1VolumeMount
{
    /// <summary>Volume name.</summary>
    public required string Name { get; set; }

    /// <summary>Absolute path in the container.</summary>
    public required string MountPath { get; set; }
}
