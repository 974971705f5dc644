using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// UserApi runs the user directory HTTP API: a Deployment whose Pods pair a MySQL container with the
/// API container, a ClusterIP Service and an Ingress, plus a Secret with the database password.
/// </summary>
/// <remarks>
/// The entity in KubeOps' shape on KubernetesClient's interfaces: <see cref="IKubernetesObject{TMetadata}"/>,
/// <see cref="ISpec{TSpec}"/> and <see cref="IStatus{TStatus}"/>, named by k8s.Models'
/// <see cref="KubernetesEntityAttribute"/>; the attributes of <c>UserApiOperator.Kubernetes.Entities</c>
/// add what the CRD needs and k8s has no attribute for (short names, scale subresource, printer columns).
/// The summary above is the CRD's description.
/// </remarks>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
[KubernetesEntityShortNames("uapi")]
[ScaleSubresource(SpecReplicasPath = ".spec.replicas", StatusReplicasPath = ".status.replicas", LabelSelectorPath = ".status.selector")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", Description = "Status of the Ready condition.")]
[PrinterColumn("Replicas", "integer", ".status.readyReplicas", Description = "Pods that are ready.")]
[PrinterColumn("Desired", "integer", ".spec.replicas", Description = "Pods requested.")]
[PrinterColumn("URL", "string", ".status.url", Description = "Where the API is served.")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class V1Alpha1UserApi : IKubernetesObject<V1ObjectMeta>, ISpec<UserApiSpec>, IStatus<UserApiStatus?>
{
    /// <summary>API group of the resource.</summary>
    public const string Group = "userapi.example.com";

    /// <summary>API version of the resource.</summary>
    public const string Version = "v1alpha1";

    /// <summary>Kind of the resource.</summary>
    public const string KindName = "UserApi";

    /// <summary>Plural resource name, as in URLs.</summary>
    public const string Plural = "userapis";

    /// <summary>The <c>apiVersion</c> field value, <c>userapi.example.com/v1alpha1</c>.</summary>
    public const string GroupVersion = Group + "/" + Version;

    /// <inheritdoc />
    [JsonPropertyName("apiVersion")]
    [JsonPropertyOrder(-3)]
    public string ApiVersion { get; set; } = GroupVersion;

    /// <inheritdoc />
    [JsonPropertyName("kind")]
    [JsonPropertyOrder(-2)]
    public string Kind { get; set; } = KindName;

    /// <inheritdoc />
    [JsonPropertyName("metadata")]
    [JsonPropertyOrder(-1)]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <inheritdoc />
    [JsonPropertyName("spec")]
    public UserApiSpec Spec { get; set; } = new();

    /// <inheritdoc />
    [JsonPropertyName("status")]
    public UserApiStatus? Status { get; set; }
}
