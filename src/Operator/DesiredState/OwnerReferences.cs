using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>Owner references from the objects of a UserApi to the UserApi (garbage collection on delete).</summary>
public static class OwnerReferences
{
    /// <summary>
    /// The controller owner reference to <paramref name="userApi"/> (<c>controller: true</c>,
    /// <c>blockOwnerDeletion: true</c>), or null when the UserApi has no <c>metadata.uid</c> yet
    /// (it was read from a file, not from the API server).
    /// </summary>
    public static IList<V1OwnerReference>? For(V1Alpha1UserApi userApi) =>
        string.IsNullOrEmpty(userApi.Metadata.Uid)
            ? null
            : [new V1OwnerReference
            {
                ApiVersion = userApi.ApiVersion!,
                Kind = userApi.Kind!,
                Name = userApi.Metadata.Name!,
                Uid = userApi.Metadata.Uid,
                Controller = true,
                BlockOwnerDeletion = true,
            }];

    /// <summary>Metadata of a child object: name, the UserApi's namespace, labels and owner reference.</summary>
    public static V1ObjectMeta ChildMetadata(V1Alpha1UserApi userApi, string name) => new()
    {
        Name = name,
        NamespaceProperty = userApi.Metadata.NamespaceProperty,
        Labels = UserApiLabels.For(userApi),
        OwnerReferences = For(userApi),
    };
}
