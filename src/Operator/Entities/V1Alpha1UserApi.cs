using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// UserApi runs the user directory HTTP API: a Deployment whose Pods pair a MySQL container with the
/// API container, a ClusterIP Service and an Ingress, plus a Secret with the database password.
/// </summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = "UserApi", PluralName = "userapis")]
[KubernetesEntityShortNames("uapi")]
[ScaleSubresource(SpecReplicasPath = ".spec.replicas", StatusReplicasPath = ".status.replicas", LabelSelectorPath = ".status.selector")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", Description = "Status of the Ready condition.")]
[PrinterColumn("Replicas", "integer", ".status.readyReplicas", Description = "Pods that are ready.")]
[PrinterColumn("Desired", "integer", ".spec.replicas", Description = "Pods requested.")]
[PrinterColumn("URL", "string", ".status.url", Description = "Where the API is served.")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class V1Alpha1UserApi : CustomKubernetesEntity<UserApiSpec, UserApiStatus>
{
    /// <summary>API group of the resource.</summary>
    public const string Group = "userapi.example.com";

    /// <summary>API version of the resource.</summary>
    public const string Version = "v1alpha1";
}
