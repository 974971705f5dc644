using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>What happened to a cached object.</summary>
public enum InformerEventType
{
    /// <summary>The object appeared (first list, or created since).</summary>
    Added,

    /// <summary>The object changed (a new resource version).</summary>
    Modified,

    /// <summary>The object is gone (deleted, or missing from a relist).</summary>
    Deleted,
}

/// <summary>A change to an informer's cache.</summary>
/// <typeparam name="T">Kind of object.</typeparam>
/// <param name="Type">What happened.</param>
/// <param name="Object">The object as it is now (for <see cref="InformerEventType.Deleted"/>, as it was last seen).</param>
/// <param name="OldObject">The object as cached before a <see cref="InformerEventType.Modified"/>; null otherwise.</param>
public sealed record InformerEvent<T>(InformerEventType Type, T Object, T? OldObject)
    where T : IKubernetesObject<V1ObjectMeta>;
