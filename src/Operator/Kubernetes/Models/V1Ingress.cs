using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>A networking.k8s.io/v1 Ingress: HTTP routing from outside the cluster to Services.</summary>
[KubernetesEntity(Group = "networking.k8s.io", ApiVersion = "v1", Kind = "Ingress", PluralName = "ingresses")]
public sealed class V1Ingress : KubernetesObject
{
    /// <summary>Desired state.</summary>
    public V1IngressSpec? Spec { get; set; }

    /// <summary>Observed state: the load balancer addresses the ingress controller assigned.</summary>
    public V1IngressStatus? Status { get; set; }
}

/// <summary>Desired state of an Ingress.</summary>
public sealed class V1IngressSpec
{
    /// <summary>Name of the IngressClass (the ingress controller) that serves it.</summary>
    public string? IngressClassName { get; set; }

    /// <summary>TLS termination: hosts and the Secret holding their certificate.</summary>
    public IList<V1IngressTls>? Tls { get; set; }

    /// <summary>Routing rules.</summary>
    public IList<V1IngressRule>? Rules { get; set; }
}

/// <summary>TLS settings of an Ingress.</summary>
public sealed class V1IngressTls
{
    /// <summary>Hosts the certificate covers.</summary>
    public IList<string>? Hosts { get; set; }

    /// <summary>Secret of type <c>kubernetes.io/tls</c> with the certificate and key.</summary>
    public string? SecretName { get; set; }
}

/// <summary>A routing rule: an optional host and its HTTP paths.</summary>
public sealed class V1IngressRule
{
    /// <summary>Host the rule applies to; unset matches every host.</summary>
    public string? Host { get; set; }

    /// <summary>HTTP paths of the rule.</summary>
    public V1HttpIngressRuleValue? Http { get; set; }
}

/// <summary>HTTP paths of an Ingress rule.</summary>
public sealed class V1HttpIngressRuleValue
{
    /// <summary>Paths, each with its backend.</summary>
    public required IList<V1HttpIngressPath> Paths { get; set; }
}

/// <summary>A path of an Ingress rule and the backend it routes to.</summary>
public sealed class V1HttpIngressPath
{
    /// <summary>Path, starting with <c>/</c>.</summary>
    public string? Path { get; set; }

    /// <summary><c>Prefix</c>, <c>Exact</c> or <c>ImplementationSpecific</c>.</summary>
    public required string PathType { get; set; }

    /// <summary>Where matching requests go.</summary>
    public required V1IngressBackend Backend { get; set; }
}

/// <summary>An Ingress backend: a Service and port.</summary>
public sealed class V1IngressBackend
{
    /// <summary>The Service backend.</summary>
    public V1IngressServiceBackend? Service { get; set; }
}

/// <summary>A Service and one of its ports.</summary>
public sealed class V1IngressServiceBackend
{
    /// <summary>Service name, in the Ingress's namespace.</summary>
    public required string Name { get; set; }

    /// <summary>Service port, by number or name.</summary>
    public required V1ServiceBackendPort Port { get; set; }
}

/// <summary>A Service port by number or by name (exactly one is set).</summary>
public sealed class V1ServiceBackendPort
{
    /// <summary>Port number.</summary>
    public int? Number { get; set; }

    /// <summary>Port name.</summary>
    public string? Name { get; set; }
}

/// <summary>Observed state of an Ingress.</summary>
public sealed class V1IngressStatus
{
    /// <summary>Addresses of the load balancer.</summary>
    public V1IngressLoadBalancerStatus? LoadBalancer { get; set; }
}

/// <summary>Load balancer addresses of an Ingress.</summary>
public sealed class V1IngressLoadBalancerStatus
{
    /// <summary>One entry per address.</summary>
    public IList<V1IngressLoadBalancerIngress>? Ingress { get; set; }
}

/// <summary>One load balancer address: an IP or a host name.</summary>
public sealed class V1IngressLoadBalancerIngress
{
    /// <summary>IP address.</summary>
    public string? Ip { get; set; }

    /// <summary>DNS name.</summary>
    public string? Hostname { get; set; }
}
