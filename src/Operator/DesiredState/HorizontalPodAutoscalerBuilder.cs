using k8s.Models;
using UserApiOperator.Entities;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the HorizontalPodAutoscaler of a UserApi (<c>spec.autoscaling</c>).</summary>
/// <remarks>
/// The autoscaler scales the UserApi itself, through the scale subresource the CRD declares
/// (specReplicasPath <c>.spec.replicas</c>, statusReplicasPath <c>.status.replicas</c>,
/// labelSelectorPath <c>.status.selector</c>), not the Deployment. So <c>spec.replicas</c> stays the
/// one source of the Deployment's replicas and the operator keeps applying it, with autoscaling on
/// or off: there is never a moment when two managers own the Deployment's <c>spec.replicas</c>, and
/// switching autoscaling on or off never touches it. (Had the autoscaler scaled the Deployment, the
/// operator would have to stop applying <c>replicas</c> while it is on; dropping a field from an
/// apply configuration removes it or resets it to its default, 1, unless another manager owns it
/// at that very moment: the trap of "Transferring ownership" in the server-side apply docs,
/// https://kubernetes.io/docs/reference/using-api/server-side-apply/#transferring-ownership.) The
/// HPA controller may write any <c>*/scale</c> subresource: the <c>system:controller:horizontal-pod-autoscaler</c>
/// ClusterRole grants get and update on <c>*/scale</c> in every group
/// (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/controller_policy.go).
/// </remarks>
public static class HorizontalPodAutoscalerBuilder
{
    /// <summary>CPU utilization target, in percent, when the spec sets no target: the API server's own default.</summary>
    public const int DefaultCpuUtilization = 80;

    /// <summary>
    /// HorizontalPodAutoscaler <c>&lt;name&gt;</c> (autoscaling/v2) targeting the UserApi, with
    /// <c>minReplicas</c>, <c>maxReplicas</c> and a Resource metric of type Utilization for each of
    /// the CPU and memory targets that is set; with neither, CPU at <see cref="DefaultCpuUtilization"/>
    /// percent, written out rather than left to the API server's default (pkg/apis/autoscaling/v2/defaults.go)
    /// so that the applied object says what is in force. Null when <c>spec.autoscaling.enabled</c> is false.
    /// </summary>
    public static V2HorizontalPodAutoscaler? Build(V1Alpha1UserApi userApi)
    {
        ArgumentNullException.ThrowIfNull(userApi);
        var autoscaling = userApi.Spec.Autoscaling;
        if (!autoscaling.Enabled)
        {
            return null;
        }

        var metrics = new List<V2MetricSpec>();
        if (autoscaling.TargetCPUUtilizationPercentage is { } cpu)
        {
            metrics.Add(Utilization("cpu", cpu));
        }
        else if (autoscaling.TargetMemoryUtilizationPercentage is null)
        {
            metrics.Add(Utilization("cpu", DefaultCpuUtilization));
        }

        if (autoscaling.TargetMemoryUtilizationPercentage is { } memory)
        {
            metrics.Add(Utilization("memory", memory));
        }

        return new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2",
            Kind = "HorizontalPodAutoscaler",
            Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi)),
            Spec = new V2HorizontalPodAutoscalerSpec
            {
                ScaleTargetRef = new V2CrossVersionObjectReference
                {
                    ApiVersion = V1Alpha1UserApi.GroupVersion,
                    Kind = V1Alpha1UserApi.KindName,
                    Name = userApi.Metadata.Name!,
                },
                MinReplicas = autoscaling.MinReplicas,
                MaxReplicas = autoscaling.MaxReplicas,
                Metrics = metrics,
            },
        };
    }

    private static V2MetricSpec Utilization(string resource, int percent) => new()
    {
        Type = "Resource",
        Resource = new V2ResourceMetricSource
        {
            Name = resource,
            Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = percent },
        },
    };
}
