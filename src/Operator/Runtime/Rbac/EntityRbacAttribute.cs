namespace UserApiOperator.Runtime.Rbac;

/// <summary>
/// Declares, beside the code that makes the calls, the RBAC permission that code needs on one kind
/// of object, in the shape of KubeOps' <c>[EntityRbac]</c> and kubebuilder's
/// <c>+kubebuilder:rbac</c> markers. <see cref="RbacGenerator"/> collects every declaration of the
/// operator's assembly into <c>config/rbac/</c> (<c>userapi-operator rbac</c>,
/// <c>hack/update-rbac.sh</c>); a test fails when the committed files and the declarations differ.
/// </summary>
/// <remarks>
/// The kind's API group and plural resource name come from the <see cref="k8s.Models.KubernetesEntityAttribute"/>
/// of <see cref="Entity"/> (present on every <c>k8s.Models</c> type and on our entities). Several
/// declarations of the same kind and subresource are merged into one rule.
/// </remarks>
/// <param name="entity">The kind, for example <c>typeof(V1Deployment)</c>.</param>
/// <param name="verbs">The verbs the code uses.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class EntityRbacAttribute(Type entity, RbacVerb verbs) : Attribute
{
    /// <summary>The kind the grant is for.</summary>
    public Type Entity { get; } = entity;

    /// <summary>The verbs granted.</summary>
    public RbacVerb Verbs { get; } = verbs;

    /// <summary>A subresource such as <c>status</c> or <c>scale</c> (the rule's resource becomes <c>plural/subresource</c>); null for the object itself.</summary>
    public string? Subresource { get; init; }

    /// <summary>Where the grant applies. Default <see cref="RbacScope.Cluster"/>.</summary>
    public RbacScope Scope { get; init; } = RbacScope.Cluster;

    /// <summary>Why the code needs it, one sentence; printed above the rules in the generated file.</summary>
    public string Reason { get; init; } = "";
}
