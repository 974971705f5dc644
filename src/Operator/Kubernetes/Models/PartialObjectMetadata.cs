using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// Only the <c>apiVersion</c>, <c>kind</c> and metadata of a <typeparamref name="T"/>
/// (apimachinery's <c>PartialObjectMetadata</c>): what an informer keeps when it only needs to know
/// that an object changed and who owns it. Its REST paths are those of <typeparamref name="T"/>; the
/// rest of each object is dropped when it is read, so a cache of thousands of Deployments stays small.
/// </summary>
/// <typeparam name="T">The full kind, for example <see cref="V1Deployment"/>.</typeparam>
public sealed class PartialObjectMetadata<T> : KubernetesObject
    where T : IKubernetesObject
{
}
