using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// What informers keep of each object (controller-runtime's cache <c>TransformFunc</c>s): memory in
/// bounds is a matter of what the cache holds.
/// </summary>
public static class Transforms
{
    /// <summary>kubectl's client-side apply annotation: a full copy of the object, useless to a reconcile.</summary>
    public const string LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>
    /// Drops <c>metadata.managedFields</c> (server-side apply bookkeeping, often larger than the rest of
    /// the object) and the last-applied annotation; keeps everything else. Returns the same object.
    /// </summary>
    public static T StripManagedFields<T>(T obj)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(obj);
        obj.Metadata.ManagedFields = null;
        obj.Metadata.Annotations?.Remove(LastAppliedAnnotation);
        return obj;
    }

    /// <summary>The pool through which every informer's cached objects share equal strings.</summary>
    public static StringSharing Strings { get; } = new();

    /// <summary>
    /// <see cref="StripManagedFields{T}"/>, then equal strings shared with the other cached objects
    /// (<see cref="StringSharing"/>): what an operator's children mostly repeat is held once.
    /// Returns the same object.
    /// </summary>
    public static T Compact<T>(T obj)
        where T : class, IKubernetesObject<V1ObjectMeta> => Strings.Apply(StripManagedFields(obj));
}
