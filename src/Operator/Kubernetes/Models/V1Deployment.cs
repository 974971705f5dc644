using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>An apps/v1 Deployment: a replicated, rolling-updated set of Pods.</summary>
[KubernetesEntity(Group = "apps", ApiVersion = "v1", Kind = "Deployment", PluralName = "deployments")]
public sealed class V1Deployment : KubernetesObject
{
    /// <summary>Desired state.</summary>
    public V1DeploymentSpec? Spec { get; set; }

    /// <summary>Observed state, written by the Deployment controller.</summary>
    public V1DeploymentStatus? Status { get; set; }
}

/// <summary>Desired state of a Deployment.</summary>
public sealed class V1DeploymentSpec
{
    /// <summary>Desired number of Pods.</summary>
    public int? Replicas { get; set; }

    /// <summary>Selects the Pods this Deployment manages; immutable after creation.</summary>
    public required V1LabelSelector Selector { get; set; }

    /// <summary>How old Pods are replaced by new ones.</summary>
    public V1DeploymentStrategy? Strategy { get; set; }

    /// <summary>Template of the Pods.</summary>
    public required V1PodTemplateSpec Template { get; set; }
}

/// <summary>Replacement strategy of a Deployment.</summary>
public sealed class V1DeploymentStrategy
{
    /// <summary><c>RollingUpdate</c> or <c>Recreate</c>.</summary>
    public string? Type { get; set; }

    /// <summary>Rolling update bounds, with <see cref="Type"/> <c>RollingUpdate</c>.</summary>
    public V1RollingUpdateDeployment? RollingUpdate { get; set; }
}

/// <summary>Bounds of a rolling update, as a count or a percentage of the desired replicas.</summary>
public sealed class V1RollingUpdateDeployment
{
    /// <summary>Pods that may exist above the desired count during the update.</summary>
    public IntOrString? MaxSurge { get; set; }

    /// <summary>Pods that may be unavailable during the update.</summary>
    public IntOrString? MaxUnavailable { get; set; }
}

/// <summary>Observed state of a Deployment.</summary>
public sealed class V1DeploymentStatus
{
    /// <summary>Generation the Deployment controller last acted on.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Pods targeted by the Deployment (any template).</summary>
    public int? Replicas { get; set; }

    /// <summary>Pods of the current template.</summary>
    public int? UpdatedReplicas { get; set; }

    /// <summary>Pods whose readiness probes pass.</summary>
    public int? ReadyReplicas { get; set; }

    /// <summary>Ready Pods that have been ready for at least <c>minReadySeconds</c>.</summary>
    public int? AvailableReplicas { get; set; }

    /// <summary>Pods not yet available.</summary>
    public int? UnavailableReplicas { get; set; }

    /// <summary>Conditions such as <c>Available</c> and <c>Progressing</c>.</summary>
    public IList<V1DeploymentCondition>? Conditions { get; set; }
}

/// <summary>A condition of a Deployment (<c>Available</c>, <c>Progressing</c>, <c>ReplicaFailure</c>).</summary>
public sealed class V1DeploymentCondition
{
    /// <summary>Condition type.</summary>
    public required string Type { get; set; }

    /// <summary><c>True</c>, <c>False</c> or <c>Unknown</c>.</summary>
    public required string Status { get; set; }

    /// <summary>Machine-readable reason in CamelCase, for example <c>ProgressDeadlineExceeded</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>Human-readable detail.</summary>
    public string? Message { get; set; }
}
