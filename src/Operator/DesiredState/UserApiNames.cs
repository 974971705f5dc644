using UserApiOperator.Entities;

namespace UserApiOperator.DesiredState;

/// <summary>Names of the objects made for a UserApi, and of the password Secret in use.</summary>
public static class UserApiNames
{
    /// <summary>Key of the generated Secret that holds the password.</summary>
    public const string PasswordKey = "MYSQL_PASSWORD";

    /// <summary>Name of the Deployment, Service and Ingress: the UserApi's own name.</summary>
    public static string Workload(V1Alpha1UserApi userApi) => userApi.Metadata.Name!;

    /// <summary>Name of the Secret the operator generates: <c>&lt;name&gt;-mysql</c>.</summary>
    public static string GeneratedSecret(V1Alpha1UserApi userApi) => $"{userApi.Metadata.Name}-mysql";

    /// <summary>
    /// The Secret and key that hold the password in use: <c>spec.database.external.passwordSecretRef</c>
    /// with an external database, else <c>spec.database.passwordSecretRef</c> when set, else the
    /// generated Secret and <see cref="PasswordKey"/>.
    /// </summary>
    public static (string Secret, string Key) PasswordSource(V1Alpha1UserApi userApi) =>
        userApi.Spec.Database.External is { } external ? (external.PasswordSecretRef.Name, external.PasswordSecretRef.Key)
        : userApi.Spec.Database.PasswordSecretRef is { } reference ? (reference.Name, reference.Key)
        : (GeneratedSecret(userApi), PasswordKey);

    /// <summary>Whether the operator generates the password Secret: neither an external database nor a referenced Secret.</summary>
    public static bool GeneratesSecret(V1Alpha1UserApi userApi) =>
        userApi.Spec.Database.External is null && userApi.Spec.Database.PasswordSecretRef is null;
}
