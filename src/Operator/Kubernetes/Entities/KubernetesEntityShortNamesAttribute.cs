namespace UserApiOperator.Kubernetes.Entities;

/// <summary>Short names of a custom resource (<c>kubectl get uapi</c>), written into the CRD's <c>spec.names.shortNames</c>.</summary>
/// <param name="shortNames">Lower-case short names.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class KubernetesEntityShortNamesAttribute(params string[] shortNames) : Attribute
{
    /// <summary>Lower-case short names.</summary>
    public IReadOnlyList<string> ShortNames { get; } = shortNames;
}
