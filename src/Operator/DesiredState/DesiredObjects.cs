using k8s;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>
/// The desired state of one UserApi: the objects that should exist for it. <see cref="Secret"/> is
/// null when <c>spec.database.passwordSecretRef</c> names an existing Secret or the database is
/// external (a generated Secret left from before is kept: a password is never destroyed); <see cref="Ingress"/>
/// is null when <c>spec.ingress.enabled</c> is false.
/// </summary>
/// <param name="Secret">The generated password Secret, or null.</param>
/// <param name="Deployment">The Deployment.</param>
/// <param name="Service">The Service.</param>
/// <param name="Ingress">The Ingress, or null.</param>
public sealed record DesiredObjects(V1Secret? Secret, V1Deployment Deployment, V1Service Service, V1Ingress? Ingress)
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
        IngressBuilder.Build(userApi) is { } ingress ? DesiredHash.Stamp(ingress) : null);

    /// <summary>The objects that should exist, in apply order (Secret, Deployment, Service, Ingress).</summary>
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
    }
}
