using UserApiOperator.Entities;

namespace UserApiOperator.DesiredState;

/// <summary>
/// The recommended labels (Kubernetes docs, "Recommended Labels") that every object made for a
/// UserApi carries, and the Pod selector built from two of them.
/// </summary>
public static class UserApiLabels
{
    /// <summary><c>app.kubernetes.io/name</c>: the application.</summary>
    public const string NameKey = "app.kubernetes.io/name";

    /// <summary><c>app.kubernetes.io/instance</c>: the UserApi's name.</summary>
    public const string InstanceKey = "app.kubernetes.io/instance";

    /// <summary><c>app.kubernetes.io/managed-by</c>: the tool that manages the object.</summary>
    public const string ManagedByKey = "app.kubernetes.io/managed-by";

    /// <summary>Value of <see cref="NameKey"/>.</summary>
    public const string AppName = "user-api";

    /// <summary>Value of <see cref="ManagedByKey"/>; also the field manager of every write.</summary>
    public const string ManagedBy = "userapi-operator";

    /// <summary>Label selector (<c>key=value,...</c>) that finds every object this operator manages.</summary>
    public const string ManagedSelector = ManagedByKey + "=" + ManagedBy;

    /// <summary>All three labels for the objects of <paramref name="userApi"/>.</summary>
    public static Dictionary<string, string> For(V1Alpha1UserApi userApi) => new()
    {
        [NameKey] = AppName,
        [InstanceKey] = userApi.Metadata.Name!,
        [ManagedByKey] = ManagedBy,
    };

    /// <summary>The Pod selector: the name and instance labels (never managed-by, so another manager could adopt the Pods).</summary>
    public static Dictionary<string, string> Selector(V1Alpha1UserApi userApi) => new()
    {
        [NameKey] = AppName,
        [InstanceKey] = userApi.Metadata.Name!,
    };

    /// <summary>The Pod selector in label-selector string form (<c>a=b,c=d</c>), as the scale subresource wants it in <c>status.selector</c>.</summary>
    public static string SelectorString(V1Alpha1UserApi userApi) =>
        string.Join(",", Selector(userApi).Select(p => $"{p.Key}={p.Value}"));
}
