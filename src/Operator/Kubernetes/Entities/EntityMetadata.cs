using System.Collections.Concurrent;
using System.Reflection;

namespace UserApiOperator.Kubernetes.Entities;

/// <summary>Looks up (and caches) the <see cref="KubernetesEntityAttribute"/> of entity types.</summary>
public static class EntityMetadata
{
    private static readonly ConcurrentDictionary<Type, KubernetesEntityAttribute> Cache = new();

    /// <summary>The entity attribute of <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The type carries no <see cref="KubernetesEntityAttribute"/>.</exception>
    public static KubernetesEntityAttribute Of<T>() => Of(typeof(T));

    /// <summary>
    /// The entity attribute of <paramref name="type"/>; for <see cref="Models.PartialObjectMetadata{T}"/>,
    /// that of <c>T</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The type carries no <see cref="KubernetesEntityAttribute"/>.</exception>
    public static KubernetesEntityAttribute Of(Type type) =>
        Cache.GetOrAdd(type, static t =>
            t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Models.PartialObjectMetadata<>)
                ? Of(t.GetGenericArguments()[0])
                : t.GetCustomAttribute<KubernetesEntityAttribute>()
                    ?? throw new InvalidOperationException($"{t.FullName} has no [KubernetesEntity] attribute."));
}
