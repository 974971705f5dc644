using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s.Models;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>Desired state of a UserApi.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class UserApiSpec
{
    /// <summary>Number of Pods (each with its own database and API container).</summary>
    [Range(0, 100)]
    public int Replicas { get; set; } = 3;

    /// <summary>The API container.</summary>
    public ApiSpec Api { get; set; } = new();

    /// <summary>The MySQL container the API reads users from.</summary>
    public DatabaseSpec Database { get; set; } = new();

    /// <summary>The ClusterIP Service in front of the Pods.</summary>
    public ServiceSpec Service { get; set; } = new();

    /// <summary>The Ingress that routes outside traffic to the Service.</summary>
    public IngressSpec Ingress { get; set; } = new();

    /// <summary>Placement of the Pods (node selection, tolerations, affinity, spread), their priority, pull secrets and extra labels and annotations.</summary>
    public PodPlacementSpec Pod { get; set; } = new();

    /// <summary>A HorizontalPodAutoscaler that sets spec.replicas from the Pods' CPU and memory use; off by default.</summary>
    public AutoscalingSpec Autoscaling { get; set; } = new();

    /// <summary>A PodDisruptionBudget that keeps node drains from taking more than one Pod at a time (by default).</summary>
    public DisruptionBudgetSpec DisruptionBudget { get; set; } = new();

    /// <summary>A NetworkPolicy that admits traffic to the Pods only on the API's http port; on by default.</summary>
    public NetworkPolicySpec NetworkPolicy { get; set; } = new();
}

/// <summary>The API container of each Pod.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ApiSpec
{
    /// <summary>Image of the API, built from Dockerfile.api.</summary>
    [MinLength(1)]
    public string Image { get; set; } = "userapi:latest";

    /// <summary>When the kubelet pulls the image; unset lets Kubernetes choose (Always for :latest).</summary>
    public ImagePullPolicy? ImagePullPolicy { get; set; }

    /// <summary>Port the API listens on inside the Pod; the container port is named http.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 8000;

    /// <summary>CPU and memory of the API container.</summary>
    public ResourceRequirementsSpec Resources { get; set; } = new()
    {
        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = "50m", ["memory"] = "64Mi" },
        Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = "500m", ["memory"] = "256Mi" },
    };

    /// <summary>Path of the readiness probe; use /status for API images that have no /ready endpoint.</summary>
    [RegularExpression("^/.*$")]
    public string ReadinessPath { get; set; } = "/ready";
}

/// <summary>
/// The database the API reads: by default a MySQL container in each Pod; with <c>external</c>, a
/// MySQL server outside the Pods (then image, resources, securityContext and passwordSecretRef of
/// the built-in container must be unset, and port, name and user are not used).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("!has(self.external) || (!has(self.image) && !has(self.resources) && !has(self.securityContext) && !has(self.passwordSecretRef))",
    Message = "external excludes the built-in database's image, resources, securityContext and passwordSecretRef (the external server's password is external.passwordSecretRef)",
    FieldPath = ".external", Reason = "FieldValueForbidden")]
public sealed class DatabaseSpec
{
    /// <summary>Image of the built-in MySQL container when <see cref="Image"/> is unset.</summary>
    public const string DefaultImage = "datascientest/mysql-k8s:1.0.0";

    /// <summary>Resources of the built-in MySQL container when <see cref="Resources"/> is unset.</summary>
    public static ResourceRequirementsSpec DefaultResources => new()
    {
        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = "100m", ["memory"] = "256Mi" },
        Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = "1", ["memory"] = "1Gi" },
    };

    /// <summary>
    /// MySQL image that holds the Users table; unset: datascientest/mysql-k8s:1.0.0. (Not defaulted in
    /// the stored object, so that an external database can require it unset.)
    /// </summary>
    [MinLength(1)]
    public string? Image { get; set; }

    /// <summary>Port MySQL listens on inside the Pod.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 3306;

    /// <summary>Database the API reads.</summary>
    [RegularExpression("^[A-Za-z0-9_$]{1,64}$")]
    public string Name { get; set; } = "Main";

    /// <summary>MySQL user the API logs in as; a user other than root is created by the MySQL image on first start.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,32}$")]
    public string User { get; set; } = "root";

    /// <summary>An existing Secret key that holds the password; unset: the operator generates the Secret NAME-mysql once.</summary>
    public SecretKeyReference? PasswordSecretRef { get; set; }

    /// <summary>CPU and memory of the MySQL container (a cluster that enforces quotas or LimitRanges needs them); unset: requests cpu 100m, memory 256Mi, limits cpu 1, memory 1Gi.</summary>
    public ResourceRequirementsSpec? Resources { get; set; }

    /// <summary>Security context of the MySQL container, replacing the default as a whole; only what Pod Security baseline allows.</summary>
    public DatabaseSecurityContextSpec? SecurityContext { get; set; }

    /// <summary>A MySQL server outside the Pods; set: no db container and no generated Secret.</summary>
    public ExternalDatabaseSpec? External { get; set; }
}

/// <summary>A key of a Secret in the UserApi's namespace.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class SecretKeyReference
{
    /// <summary>Name of the Secret.</summary>
    [Required]
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    [MaxLength(253)]
    public string Name { get; set; } = "";

    /// <summary>Key within the Secret's data.</summary>
    [RegularExpression("^[-._a-zA-Z0-9]+$")]
    public string Key { get; set; } = "MYSQL_PASSWORD";
}

/// <summary>CPU and memory requests and limits, as in a container's resources.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ResourceRequirementsSpec
{
    /// <summary>Guaranteed amounts, for example cpu: 50m, memory: 64Mi.</summary>
    public IDictionary<string, ResourceQuantity>? Requests { get; set; }

    /// <summary>Maximum amounts, for example cpu: 500m, memory: 256Mi.</summary>
    public IDictionary<string, ResourceQuantity>? Limits { get; set; }
}

/// <summary>The ClusterIP Service.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ServiceSpec
{
    /// <summary>Port of the Service, named http; it forwards to the API container's http port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 8000;
}

/// <summary>The Ingress.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("!has(self.tlsSecretName) || has(self.host)",
    Message = "tlsSecretName needs a host: the certificate is for a host name", FieldPath = ".host", Reason = "FieldValueRequired")]
public sealed class IngressSpec
{
    /// <summary>Whether to have an Ingress; false deletes an existing one.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>IngressClass of the ingress controller that serves it.</summary>
    [MinLength(1)]
    public string ClassName { get; set; } = "nginx";

    /// <summary>Host name of the rule (DNS-1123 subdomain, optionally starting with *.); unset matches every host.</summary>
    [RegularExpression("^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    [MaxLength(253)]
    public string? Host { get; set; }

    /// <summary>Path routed to the Service.</summary>
    [RegularExpression("^/.*$")]
    public string Path { get; set; } = "/";

    /// <summary>How the path is matched.</summary>
    public PathType PathType { get; set; } = PathType.Prefix;

    /// <summary>Secret with the TLS certificate for the host; set: the Ingress terminates TLS and the URL is https.</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    public string? TlsSecretName { get; set; }

    /// <summary>Annotations copied onto the Ingress, for example nginx.ingress.kubernetes.io/rewrite-target.</summary>
    public IDictionary<string, string>? Annotations { get; set; }
}

/// <summary>When the kubelet pulls a container image.</summary>
public enum ImagePullPolicy
{
    /// <summary>On every container start.</summary>
    Always,

    /// <summary>Only when the image is not on the node.</summary>
    IfNotPresent,

    /// <summary>Never; the image must be on the node.</summary>
    Never,
}

/// <summary>How an Ingress path is matched.</summary>
public enum PathType
{
    /// <summary>Matches the path and everything below it, element by element.</summary>
    Prefix,

    /// <summary>Matches the path exactly.</summary>
    Exact,

    /// <summary>Left to the IngressClass.</summary>
    ImplementationSpecific,
}
