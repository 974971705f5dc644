using UserApiOperator.DesiredState;
using k8s.Models;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class DeploymentBuilderTests
{
    private static V1Container Container(V1Deployment deployment, string name) =>
        deployment.Spec!.Template.Spec.Containers.Single(c => c.Name == name);

    private static V1EnvVar Env(V1Container container, string name) => container.Env!.Single(e => e.Name == name);

    [Fact]
    public void Defaults_give_three_replicas_selected_by_name_and_instance_with_a_surge_only_rolling_update()
    {
        var deployment = DeploymentBuilder.Build(UserApis.FromSpec());
        var spec = deployment.Spec!;

        Assert.Equal(3, spec.Replicas);
        Assert.Equal(
            new Dictionary<string, string> { ["app.kubernetes.io/name"] = "user-api", ["app.kubernetes.io/instance"] = "alpha" },
            spec.Selector.MatchLabels);
        Assert.Equal("RollingUpdate", spec.Strategy!.Type);
        Assert.Equal("1", spec.Strategy.RollingUpdate!.MaxSurge!.Value);
        Assert.Equal("0", spec.Strategy.RollingUpdate.MaxUnavailable!.Value);
        // The Pod labels must include the selector, or the API server rejects the Deployment.
        Assert.All(spec.Selector.MatchLabels!, p => Assert.Equal(p.Value, spec.Template.Metadata!.Labels![p.Key]));
        Assert.Equal(["db", "api"], spec.Template.Spec.Containers.Select(c => c.Name));
    }

    [Fact]
    public void Replicas_follow_the_spec()
    {
        Assert.Equal(7, DeploymentBuilder.Build(UserApis.FromSpec("replicas: 7")).Spec!.Replicas);
        Assert.Equal(0, DeploymentBuilder.Build(UserApis.FromSpec("replicas: 0")).Spec!.Replicas);
    }

    [Fact]
    public void Db_container_runs_the_database_image_with_the_root_password_from_the_secret_and_a_tcp_readiness_probe()
    {
        var db = Container(DeploymentBuilder.Build(UserApis.FromSpec()), "db");

        Assert.Equal("datascientest/mysql-k8s:1.0.0", db.Image);
        var root = Env(db, "MYSQL_ROOT_PASSWORD").ValueFrom!.SecretKeyRef!;
        Assert.Equal(("alpha-mysql", "MYSQL_PASSWORD"), (root.Name, root.Key));
        var port = Assert.Single(db.Ports!);
        Assert.Equal(("mysql", 3306), (port.Name, port.ContainerPort));
        Assert.Equal("mysql", db.ReadinessProbe!.TcpSocket!.Port.Value);
        Assert.Null(db.Args);
        Assert.Equal(("100m", "256Mi", "1", "1Gi"), (db.Resources!.Requests!["cpu"].ToString(), db.Resources.Requests["memory"].ToString(), db.Resources.Limits!["cpu"].ToString(), db.Resources.Limits["memory"].ToString()));
        Assert.Single(db.Env!);
    }

    [Fact]
    public void Api_container_reads_mysql_over_loopback_with_the_password_from_the_secret()
    {
        var api = Container(DeploymentBuilder.Build(UserApis.FromSpec()), "api");

        Assert.Equal("userapi:latest", api.Image);
        Assert.Null(api.ImagePullPolicy);
        Assert.Equal("127.0.0.1", Env(api, "MYSQL_HOST").Value);
        Assert.Equal("3306", Env(api, "MYSQL_PORT").Value);
        Assert.Equal("root", Env(api, "MYSQL_USER").Value);
        Assert.Equal("Main", Env(api, "MYSQL_DATABASE").Value);
        var password = Env(api, "MYSQL_PASSWORD");
        Assert.Null(password.Value);
        Assert.Equal(("alpha-mysql", "MYSQL_PASSWORD"), (password.ValueFrom!.SecretKeyRef!.Name, password.ValueFrom.SecretKeyRef.Key));
    }

    [Fact]
    public void Api_container_exposes_http_with_status_liveness_and_ready_readiness()
    {
        var api = Container(DeploymentBuilder.Build(UserApis.FromSpec()), "api");

        var port = Assert.Single(api.Ports!);
        Assert.Equal(("http", 8000), (port.Name, port.ContainerPort));
        Assert.Equal("http://0.0.0.0:8000", Env(api, "ASPNETCORE_URLS").Value);
        Assert.Equal("/status", api.LivenessProbe!.HttpGet!.Path);
        Assert.Equal("http", api.LivenessProbe.HttpGet.Port.Value);
        Assert.Equal("/ready", api.ReadinessProbe!.HttpGet!.Path);
        Assert.Equal("http", api.ReadinessProbe.HttpGet.Port.Value);
    }

    [Fact]
    public void Api_container_is_non_root_read_only_without_escalation_or_capabilities()
    {
        var deployment = DeploymentBuilder.Build(UserApis.FromSpec());
        var api = Container(deployment, "api");
        var security = api.SecurityContext!;

        Assert.True(security.RunAsNonRoot);
        Assert.True(security.ReadOnlyRootFilesystem);
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.Equal(["ALL"], security.Capabilities!.Drop);
        // A read-only root filesystem needs a writable /tmp for the .NET runtime.
        var mount = Assert.Single(api.VolumeMounts!);
        Assert.Equal("/tmp", mount.MountPath);
        Assert.Contains(deployment.Spec!.Template.Spec.Volumes!, v => v.Name == mount.Name && v.EmptyDir is not null);
    }

    [Fact]
    public void Api_resources_default_to_the_original_manifests_and_follow_the_spec()
    {
        var defaults = Container(DeploymentBuilder.Build(UserApis.FromSpec()), "api").Resources!;
        Assert.Equal("50m", defaults.Requests!["cpu"].ToString());
        Assert.Equal("64Mi", defaults.Requests["memory"].ToString());
        Assert.Equal("500m", defaults.Limits!["cpu"].ToString());
        Assert.Equal("256Mi", defaults.Limits["memory"].ToString());

        var custom = Container(DeploymentBuilder.Build(UserApis.FromSpec("api: {resources: {limits: {cpu: 2, memory: 1Gi}}}")), "api").Resources!;
        Assert.Null(custom.Requests);
        Assert.Equal("2", custom.Limits!["cpu"].ToString());
        Assert.Equal("1Gi", custom.Limits["memory"].ToString());
    }

    [Fact]
    public void Spec_fields_reach_the_containers()
    {
        var userApi = UserApis.FromSpec("""
            api: {image: registry.local/userapi:2.1, imagePullPolicy: Never, port: 9000, readinessPath: /status}
            database: {image: mysql:8.4, port: 3307, name: Directory, user: reader, resources: {requests: {memory: 512Mi}}}
            """);
        var deployment = DeploymentBuilder.Build(userApi);
        var api = Container(deployment, "api");
        var db = Container(deployment, "db");

        Assert.Equal(("registry.local/userapi:2.1", "Never"), (api.Image, api.ImagePullPolicy));
        Assert.Equal(9000, api.Ports!.Single().ContainerPort);
        Assert.Equal("http://0.0.0.0:9000", Env(api, "ASPNETCORE_URLS").Value);
        Assert.Equal("/status", api.ReadinessProbe!.HttpGet!.Path);
        Assert.Equal("3307", Env(api, "MYSQL_PORT").Value);
        Assert.Equal("Directory", Env(api, "MYSQL_DATABASE").Value);
        Assert.Equal("reader", Env(api, "MYSQL_USER").Value);

        Assert.Equal("mysql:8.4", db.Image);
        Assert.Equal(3307, db.Ports!.Single().ContainerPort);
        Assert.Equal(["--port=3307"], db.Args);
        Assert.Equal("512Mi", db.Resources!.Requests!["memory"].ToString());
        // A non-root user is created by the MySQL image from these variables, with the same password.
        Assert.Equal("reader", Env(db, "MYSQL_USER").Value);
        Assert.Equal("Directory", Env(db, "MYSQL_DATABASE").Value);
        Assert.Equal("alpha-mysql", Env(db, "MYSQL_PASSWORD").ValueFrom!.SecretKeyRef!.Name);
    }

    [Fact]
    public void PasswordSecretRef_replaces_the_generated_secret_in_every_secretKeyRef()
    {
        var deployment = DeploymentBuilder.Build(UserApis.FromSpec("database: {passwordSecretRef: {name: shared-db, key: root-password}}"));

        var refs = deployment.Spec!.Template.Spec.Containers
            .SelectMany(c => c.Env!)
            .Where(e => e.ValueFrom is not null)
            .Select(e => (e.ValueFrom!.SecretKeyRef!.Name, e.ValueFrom.SecretKeyRef.Key))
            .ToList();
        Assert.Equal(2, refs.Count);
        Assert.All(refs, r => Assert.Equal(("shared-db", "root-password"), r));
    }

    [Fact]
    public void PasswordSecretRef_key_defaults_to_MYSQL_PASSWORD()
    {
        var userApi = UserApis.FromSpec("database: {passwordSecretRef: {name: shared-db}}");

        Assert.Equal(("shared-db", "MYSQL_PASSWORD"), UserApiNames.PasswordSource(userApi));
    }
}
