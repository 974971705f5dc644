using System.Text;
using UserApiOperator.DesiredState;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class SecretBuilderTests
{
    [Fact]
    public void Secret_is_opaque_and_holds_the_password_under_MYSQL_PASSWORD()
    {
        var secret = SecretBuilder.Build(UserApis.FromSpec(), "s3cret-password");

        Assert.Equal("Opaque", secret.Type);
        var (key, value) = Assert.Single(secret.Data!);
        Assert.Equal("MYSQL_PASSWORD", key);
        Assert.Equal("s3cret-password", Encoding.UTF8.GetString(value));
    }

    [Fact]
    public void No_secret_is_made_when_passwordSecretRef_is_set()
    {
        var desired = DesiredObjects.For(UserApis.FromSpec("database: {passwordSecretRef: {name: existing, key: pw}}"), "unused");

        Assert.Null(desired.Secret);
        Assert.Equal(["Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"], desired.All().Select(o => o.Kind));
    }

    [Fact]
    public void Generated_passwords_are_long_alphanumeric_and_distinct()
    {
        var passwords = Enumerable.Range(0, 200).Select(_ => PasswordGenerator.Generate()).ToList();

        Assert.All(passwords, p => Assert.True(p.Length >= 24 && p.All(char.IsAsciiLetterOrDigit), p));
        Assert.Equal(passwords.Count, passwords.Distinct().Count());
        // 200 x 32 characters from 62 symbols: every symbol class should show up.
        var all = string.Concat(passwords);
        Assert.Contains(all, char.IsAsciiLetterUpper);
        Assert.Contains(all, char.IsAsciiLetterLower);
        Assert.Contains(all, char.IsAsciiDigit);
    }
}
