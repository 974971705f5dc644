using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the Ingress of a UserApi (DESIGN.md section 3).</summary>
public static class IngressBuilder
{
    /// <summary>
    /// Ingress <c>&lt;name&gt;</c> with <c>spec.ingress.className</c>, one rule (for the host when set)
    /// routing the path to Service <c>&lt;name&gt;</c> on <c>spec.service.port</c>, TLS for the host when
    /// <c>tlsSecretName</c> is set, and the annotations of <c>spec.ingress.annotations</c>.
    /// Null when <c>spec.ingress.enabled</c> is false: then no Ingress should exist.
    /// </summary>
    public static V1Ingress? Build(V1Alpha1UserApi userApi)
    {
        var ingress = userApi.Spec.Ingress;
        if (!ingress.Enabled)
        {
            return null;
        }

        var metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi));
        if (ingress.Annotations is { Count: > 0 } annotations)
        {
            metadata.Annotations = new Dictionary<string, string>(annotations);
        }

        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = metadata,
            Spec = new V1IngressSpec
            {
                IngressClassName = ingress.ClassName,
                Tls = ingress.TlsSecretName is null
                    ? null
                    : [new V1IngressTLS { Hosts = ingress.Host is null ? null : [ingress.Host], SecretName = ingress.TlsSecretName }],
                Rules =
                [
                    new V1IngressRule
                    {
                        Host = ingress.Host,
                        Http = new V1HTTPIngressRuleValue
                        {
                            Paths =
                            [
                                new V1HTTPIngressPath
                                {
                                    Path = ingress.Path,
                                    PathType = ingress.PathType.ToString(),
                                    Backend = new V1IngressBackend
                                    {
                                        Service = new V1IngressServiceBackend
                                        {
                                            Name = UserApiNames.Workload(userApi),
                                            Port = new V1ServiceBackendPort { Number = userApi.Spec.Service.Port },
                                        },
                                    },
                                },
                            ],
                        },
                    },
                ],
            },
        };
    }
}
