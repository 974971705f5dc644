using k8s.Models;

namespace UserApiOperator.Entities;

/// <summary>Observed state of a UserApi, written by the operator.</summary>
public sealed class UserApiStatus
{
    /// <summary>The metadata.generation this status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Pods of the Deployment.</summary>
    public int? Replicas { get; set; }

    /// <summary>Pods whose readiness probes pass.</summary>
    public int? ReadyReplicas { get; set; }

    /// <summary>Label selector of the Pods, for the scale subresource.</summary>
    public string? Selector { get; set; }

    /// <summary>Where the API is served: http(s)://host-or-ingress-address/path; empty while unknown.</summary>
    public string? Url { get; set; }

    /// <summary>Secret that holds the database password in use.</summary>
    public string? SecretName { get; set; }

    /// <summary>Ready, Progressing and Degraded conditions.</summary>
    public IList<V1Condition>? Conditions { get; set; }
}
