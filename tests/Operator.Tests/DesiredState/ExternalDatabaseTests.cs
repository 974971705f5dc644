using System.Text.RegularExpressions;
using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Manifests;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class ExternalDatabaseTests
{
    private const string External = """
        database:
          external:
            host: mysql.prod.example.com
            port: 3307
            database: users
            user: api
            passwordSecretRef: {name: prod-mysql, key: password}
            sslMode: VerifyFull
            caSecretRef: {name: prod-mysql-ca, key: ca.crt}
        """;

    private static string Env(V1Container container, string name) => container.Env!.Single(e => e.Name == name).Value;

    [Fact]
    public void The_pod_runs_the_api_container_alone_with_the_external_servers_settings()
    {
        var pod = DeploymentBuilder.Build(UserApis.FromSpec(External)).Spec!.Template.Spec;

        var api = Assert.Single(pod.Containers);
        Assert.Equal("api", api.Name);
        Assert.Equal(("mysql.prod.example.com", "3307", "api", "users", "VerifyFull"),
            (Env(api, "MYSQL_HOST"), Env(api, "MYSQL_PORT"), Env(api, "MYSQL_USER"), Env(api, "MYSQL_DATABASE"), Env(api, "MYSQL_SSL_MODE")));
        var password = api.Env!.Single(e => e.Name == "MYSQL_PASSWORD").ValueFrom!.SecretKeyRef!;
        Assert.Equal(("prod-mysql", "password"), (password.Name, password.Key));
        // The CA Secret's key is mounted read-only as ca.pem and named by MYSQL_SSL_CA.
        Assert.Equal("/etc/userapi/mysql-ca/ca.pem", Env(api, "MYSQL_SSL_CA"));
        var mount = api.VolumeMounts!.Single(m => m.Name == DeploymentBuilder.CaVolume);
        Assert.Equal(("/etc/userapi/mysql-ca", true), (mount.MountPath, mount.ReadOnlyProperty));
        var volume = pod.Volumes!.Single(v => v.Name == DeploymentBuilder.CaVolume).Secret!;
        Assert.Equal(("prod-mysql-ca", "ca.crt", "ca.pem"), (volume.SecretName, volume.Items![0].Key, volume.Items[0].Path));
    }

    [Fact]
    public void No_secret_is_generated_and_the_status_names_the_external_password_secret()
    {
        var userApi = UserApis.FromSpec(External);
        var desired = DesiredObjects.For(userApi, "pw");

        Assert.Null(desired.Secret);
        Assert.Equal(["Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"], desired.All().Select(o => o.Kind));
        Assert.Equal(("prod-mysql", "password"), UserApiNames.PasswordSource(userApi));
    }

    [Fact]
    public void Defaults_are_port_3306_database_Main_user_root_and_ssl_Preferred_without_a_ca()
    {
        var api = DeploymentBuilder.Build(UserApis.FromSpec("database: {external: {host: db, passwordSecretRef: {name: s}}}")).Spec!.Template.Spec.Containers.Single();

        Assert.Equal(("db", "3306", "root", "Main", "Preferred"),
            (Env(api, "MYSQL_HOST"), Env(api, "MYSQL_PORT"), Env(api, "MYSQL_USER"), Env(api, "MYSQL_DATABASE"), Env(api, "MYSQL_SSL_MODE")));
        Assert.DoesNotContain(api.Env!, e => e.Name == "MYSQL_SSL_CA");
        Assert.Equal(["tmp"], api.VolumeMounts!.Select(m => m.Name));
    }

    [Theory]
    [InlineData("image: mysql:8")]
    [InlineData("resources: {limits: {memory: 1Gi}}")]
    [InlineData("securityContext: {runAsUser: 999}")]
    [InlineData("passwordSecretRef: {name: other}")]
    public void External_excludes_the_built_in_databases_fields(string builtIn)
    {
        var error = Assert.Throws<ManifestException>(() => UserApis.FromSpec($"database:\n  {builtIn}\n  external: {{host: db, passwordSecretRef: {{name: s}}}}"));

        Assert.Contains("spec.database.external: external excludes the built-in database's image, resources, securityContext and passwordSecretRef", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaulted_built_in_fields_do_not_trip_the_rule()
    {
        // port, name and user keep their defaults (unused with external); image and resources have none.
        var userApi = UserApis.FromSpec("database: {port: 3306, name: Main, user: root, external: {host: db, passwordSecretRef: {name: s}}}");

        Assert.Empty(UserApiOperator.Validation.UserApiValidator.Validate(userApi));
    }

    [Theory]
    [InlineData("{host: db}", "spec.database.external.passwordSecretRef: is required")]
    [InlineData("{passwordSecretRef: {name: s}}", "spec.database.external.host: is required")]
    [InlineData("{host: db, passwordSecretRef: {name: s}, sslMode: Verify}", "spec.database.external.sslMode: must be one of None, Preferred, Required, VerifyCA, VerifyFull")]
    [InlineData("{host: db, passwordSecretRef: {name: s}, caSecretRef: {name: ca}}", "spec.database.external.caSecretRef: caSecretRef is used only with sslMode VerifyCA or VerifyFull")]
    public void Bad_external_settings_are_rejected(string external, string expected)
    {
        var error = Assert.Throws<ManifestException>(() => UserApis.FromSpec($"database: {{external: {external}}}"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ssl_modes_are_those_the_api_accepts()
    {
        // src/UserApi/Data/DatabaseOptions.cs: SslModes = ["None", ...], the values MYSQL_SSL_MODE takes.
        var source = File.ReadAllText(Repository.PathOf("src/UserApi/Data/DatabaseOptions.cs"));
        var list = Regex.Match(source, @"SslModes\s*=\s*\[(?<list>[^\]]*)\]").Groups["list"].Value;
        var modes = Regex.Matches(list, "\"(?<mode>[^\"]+)\"").Select(m => m.Groups["mode"].Value).ToList();

        Assert.NotEmpty(modes);
        Assert.Equal(modes, Enum.GetNames<UserApiOperator.Entities.SslMode>());
    }
}
