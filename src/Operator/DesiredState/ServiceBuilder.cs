using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the ClusterIP Service of a UserApi (DESIGN.md section 3).</summary>
public static class ServiceBuilder
{
    /// <summary>Service <c>&lt;name&gt;</c>: ClusterIP, port <c>spec.service.port</c> named http, to the Pods' port named http.</summary>
    public static V1Service Build(V1Alpha1UserApi userApi) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi)),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = UserApiLabels.Selector(userApi),
            Ports =
            [
                new V1ServicePort { Name = "http", Protocol = "TCP", Port = userApi.Spec.Service.Port, TargetPort = "http" },
            ],
        },
    };
}
