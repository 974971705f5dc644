using System.Text;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the generated password Secret of a UserApi (DESIGN.md section 3).</summary>
public static class SecretBuilder
{
    /// <summary>
    /// The Secret <c>&lt;name&gt;-mysql</c>, type Opaque, holding <paramref name="password"/> under
    /// <c>MYSQL_PASSWORD</c>. Only for UserApis without <c>spec.database.passwordSecretRef</c>;
    /// it is created once and never replaced, because the MySQL data is initialised with it.
    /// </summary>
    /// <param name="userApi">The owner.</param>
    /// <param name="password">The password, from <see cref="PasswordGenerator.Generate"/>.</param>
    public static V1Secret Build(V1Alpha1UserApi userApi, string password) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.GeneratedSecret(userApi)),
        Type = "Opaque",
        Data = new Dictionary<string, byte[]> { [UserApiNames.PasswordKey] = Encoding.UTF8.GetBytes(password) },
    };
}
