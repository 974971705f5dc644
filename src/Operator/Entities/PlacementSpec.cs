using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s.Models;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// Where the Pods are scheduled and what they carry besides their containers. Every field is copied
/// into the Deployment's Pod template; a change rolls the Pods like any other spec change.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class PodPlacementSpec
{
    /// <summary>Label keys the operator sets on every Pod; the first two select the Pods, so no extra label may use them.</summary>
    public static readonly IReadOnlyList<string> ReservedLabelKeys = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"];

    /// <summary>Extra labels on each Pod (for example for a NetworkPolicy or a cost report); app.kubernetes.io/name, instance and managed-by are the operator's.</summary>
    [ValidationRule(
        "!('app.kubernetes.io/name' in self) && !('app.kubernetes.io/instance' in self) && !('app.kubernetes.io/managed-by' in self)",
        Message = "must not set app.kubernetes.io/name, app.kubernetes.io/instance or app.kubernetes.io/managed-by: the operator sets them and the first two select the Pods",
        Reason = "FieldValueForbidden")]
    public IDictionary<string, string>? Labels { get; set; }

    /// <summary>Extra annotations on each Pod (for example prometheus.io/scrape).</summary>
    public IDictionary<string, string>? Annotations { get; set; }

    /// <summary>Node labels a node must have to run the Pods, as in a Pod's nodeSelector.</summary>
    public IDictionary<string, string>? NodeSelector { get; set; }

    /// <summary>Taints the Pods tolerate, as in a Pod's tolerations.</summary>
    public IList<V1Toleration>? Tolerations { get; set; }

    /// <summary>Node affinity and Pod (anti-)affinity, as in a Pod's affinity.</summary>
    public V1Affinity? Affinity { get; set; }

    /// <summary>
    /// How the Pods spread over topology domains, as in a Pod's topologySpreadConstraints. Unset: one
    /// constraint that spreads the Pods across nodes (topologyKey kubernetes.io/hostname, maxSkew 1,
    /// whenUnsatisfiable ScheduleAnyway); an empty list: no constraint. A constraint without a
    /// labelSelector gets the UserApi's Pod selector.
    /// </summary>
    [MaxLength(16)]
    public IList<V1TopologySpreadConstraint>? TopologySpreadConstraints { get; set; }

    /// <summary>PriorityClass of the Pods; unset: the cluster's default priority.</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    [MaxLength(253)]
    public string? PriorityClassName { get; set; }

    /// <summary>Secrets (of type kubernetes.io/dockerconfigjson) the kubelet uses to pull the images from a private registry.</summary>
    public IList<V1LocalObjectReference>? ImagePullSecrets { get; set; }
}
