namespace UserApiOperator.Kubernetes.Models;

/// <summary>Template from which a controller makes Pods: their metadata and spec.</summary>
public sealed class V1PodTemplateSpec
{
    /// <summary>Pod metadata (labels must match the owner's selector).</summary>
    public V1ObjectMeta? Metadata { get; set; }

    /// <summary>Pod spec.</summary>
    public required V1PodSpec Spec { get; set; }
}

/// <summary>The parts of a Pod spec (<c>core/v1 PodSpec</c>) this operator sets.</summary>
public sealed class V1PodSpec
{
    /// <summary>Containers of the Pod; at least one.</summary>
    public required IList<V1Container> Containers { get; set; }

    /// <summary>Volumes the containers can mount.</summary>
    public IList<V1Volume>? Volumes { get; set; }

    /// <summary>False keeps the service-account token out of the Pod (it does not call the Kubernetes API).</summary>
    public bool? AutomountServiceAccountToken { get; set; }

    /// <summary>False keeps Docker-link-style <c>*_SERVICE_HOST</c> variables out of the environment.</summary>
    public bool? EnableServiceLinks { get; set; }

    /// <summary>Seconds the Pod gets to shut down after SIGTERM.</summary>
    public long? TerminationGracePeriodSeconds { get; set; }
}

/// <summary>A Pod volume; only <c>emptyDir</c> is modelled.</summary>
public sealed class V1Volume
{
    /// <summary>Volume name, referenced by volume mounts.</summary>
    public required string Name { get; set; }

    /// <summary>A scratch directory that lives as long as the Pod.</summary>
    public V1EmptyDirVolumeSource? EmptyDir { get; set; }
}

/// <summary>An <c>emptyDir</c> volume source.</summary>
public sealed class V1EmptyDirVolumeSource
{
    /// <summary>Optional size cap, for example <c>64Mi</c>.</summary>
    public ResourceQuantity? SizeLimit { get; set; }
}
