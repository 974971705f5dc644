using k8s.Models;
using UserApiOperator.Entities;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the NetworkPolicy of a UserApi (<c>spec.networkPolicy</c>).</summary>
public static class NetworkPolicyBuilder
{
    /// <summary>
    /// NetworkPolicy <c>&lt;name&gt;</c> (networking.k8s.io/v1) that selects the UserApi's Pods (the
    /// selector labels), has policy type Ingress only, and admits TCP from anywhere on the named
    /// container port <c>http</c> (the API's port, whatever <c>spec.api.port</c> is): every other
    /// port of the Pods, the MySQL port included, is closed to incoming traffic. Egress is left
    /// alone. Null when <c>spec.networkPolicy.enabled</c> is false.
    /// </summary>
    public static V1NetworkPolicy? Build(V1Alpha1UserApi userApi)
    {
        ArgumentNullException.ThrowIfNull(userApi);
        if (!userApi.Spec.NetworkPolicy.Enabled)
        {
            return null;
        }

        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi)),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = UserApiLabels.Selector(userApi) },
                PolicyTypes = ["Ingress"],
                Ingress =
                [
                    new V1NetworkPolicyIngressRule
                    {
                        Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = (IntOrString)"http" }],
                    },
                ],
            },
        };
    }
}
