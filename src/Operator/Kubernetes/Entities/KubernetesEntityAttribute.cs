namespace UserApiOperator.Kubernetes.Entities;

/// <summary>
/// Names the Kubernetes resource a C# type represents: its API group, version, kind and plural
/// resource name, from which REST paths (<c>/apis/{group}/{version}/namespaces/{ns}/{plural}</c>)
/// and the <c>apiVersion</c> field are derived. Mirrors KubeOps' attribute of the same name.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class KubernetesEntityAttribute : Attribute
{
    /// <summary>API group; empty for the core group (<c>v1</c> Secrets, Services, Events).</summary>
    public string Group { get; init; } = "";

    /// <summary>API version within the group, for example <c>v1</c> or <c>v1alpha1</c>.</summary>
    public required string ApiVersion { get; init; }

    /// <summary>Kind, for example <c>Deployment</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Lower-case plural resource name used in URLs, for example <c>deployments</c>.</summary>
    public required string PluralName { get; init; }

    /// <summary>Whether objects of this kind live in a namespace (true) or are cluster-scoped.</summary>
    public bool Namespaced { get; init; } = true;

    /// <summary>The <c>apiVersion</c> field value: <c>group/version</c>, or just the version for the core group.</summary>
    public string GroupVersion => Group.Length == 0 ? ApiVersion : $"{Group}/{ApiVersion}";
}
