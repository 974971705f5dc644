using k8s;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>
/// The desired state of one UserApi: the objects that should exist for it. <see cref="Secret"/> is
/// null when <c>spec.database.passwordSecretRef</c> names an existing Secret or the database is
/// external (a generated Secret left from before is kept: a password is never destroyed); <see cref="Ingress"/>
/// is null when <c>spec.ingress.enabled</c> is false; the autoscaler, disruption budget and network
/// policy are null when they should not exist (see their builders).
/// </summary>
/// <param name="Secret">The generated password Secret, or null.</param>
/// <param name="Deployment">The Deployment.</param>
/// <param name="Service">The Service.</param>
/// <param name="Ingress">The Ingress, or null.</param>
/// <param name="Autoscaler">The HorizontalPodAutoscaler, or null.</param>
/// <param name="DisruptionBudget">The PodDisruptionBudget, or null.</param>
/// <param name="NetworkPolicy">The NetworkPolicy, or null.</param>
public sealed record DesiredObjects(
    V1Secret? Secret,
    V1Deployment Deployment,
    V1Service Service,
    V1Ingress? Ingress,
    V2HorizontalPodAutoscaler? Autoscaler = null,
    V1PodDisruptionBudget? DisruptionBudget = null,
    V1NetworkPolicy? NetworkPolicy = null)
{
    /// <summary>
    /// Builds the desired objects of <paramref name="userApi"/>; a pure function of its inputs. The
    /// applied objects (Deployment, Service, Ingress) carry the <see cref="DesiredHash"/> annotation.
    /// </summary>
    /// <param name="userApi">A UserApi whose spec passed <see cref="Validation.UserApiValidator"/>.</param>
    /// <param name="password">Password for a new generated Secret; ignored when the spec references a Secret or an external database.</param>
    public static DesiredObjects For(V1Alpha1UserApi userApi, string password) => new(
        UserApiNames.GeneratesSecret(userApi) ? SecretBuilder.Build(userApi, password) : null,
        DesiredHash.Stamp(DeploymentBuilder.Build(userApi)),
        DesiredHash.Stamp(ServiceBuilder.Build(userApi)),
        IngressBuilder.Build(userApi) is { } ingress ? DesiredHash.Stamp(ingress) : null,
        HorizontalPodAutoscalerBuilder.Build(userApi) is { } autoscaler ? DesiredHash.Stamp(autoscaler) : null,
        PodDisruptionBudgetBuilder.Build(userApi) is { } budget ? DesiredHash.Stamp(budget) : null,
        NetworkPolicyBuilder.Build(userApi) is { } policy ? DesiredHash.Stamp(policy) : null);

    /// <summary>The objects that should exist, in apply order (Secret, Deployment, Service, Ingress, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy).</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> All()
    {
        if (Secret is not null)
        {
            yield return Secret;
        }

        yield return Deployment;
        yield return Service;
        if (Ingress is not null)
        {
            yield return Ingress;
        }

        if (Autoscaler is not null)
        {
            yield return Autoscaler;
        }

        if (DisruptionBudget is not null)
        {
            yield return DisruptionBudget;
        }

        if (NetworkPolicy is not null)
        {
            yield return NetworkPolicy;
        }
    }
}
