using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>A core/v1 Service: a stable virtual address in front of the Pods its selector matches.</summary>
[KubernetesEntity(ApiVersion = "v1", Kind = "Service", PluralName = "services")]
public sealed class V1Service : KubernetesObject
{
    /// <summary>Desired state.</summary>
    public V1ServiceSpec? Spec { get; set; }
}

/// <summary>Desired state of a Service.</summary>
public sealed class V1ServiceSpec
{
    /// <summary><c>ClusterIP</c>, <c>NodePort</c>, <c>LoadBalancer</c> or <c>ExternalName</c>.</summary>
    public string? Type { get; set; }

    /// <summary>Labels of the Pods that receive the traffic.</summary>
    public IDictionary<string, string>? Selector { get; set; }

    /// <summary>Ports the Service exposes.</summary>
    public IList<V1ServicePort>? Ports { get; set; }
}

/// <summary>A port of a Service.</summary>
public sealed class V1ServicePort
{
    /// <summary>Port name; required when there is more than one port.</summary>
    public string? Name { get; set; }

    /// <summary><c>TCP</c>, <c>UDP</c> or <c>SCTP</c>.</summary>
    public string? Protocol { get; set; }

    /// <summary>Port the Service listens on, 1..65535.</summary>
    public required int Port { get; set; }

    /// <summary>Pod port number or container port name the traffic goes to.</summary>
    public IntOrString? TargetPort { get; set; }
}
