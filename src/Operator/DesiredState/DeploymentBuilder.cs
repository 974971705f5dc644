using System.Globalization;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>Builds the Deployment of a UserApi (DESIGN.md section 3): Pods pairing a MySQL container with the API container.</summary>
public static class DeploymentBuilder
{
    /// <summary>Name of the MySQL container.</summary>
    public const string DatabaseContainer = "db";

    /// <summary>Name of the API container.</summary>
    public const string ApiContainer = "api";

    /// <summary>Port the MySQL image listens on unless told otherwise.</summary>
    public const int MySqlDefaultPort = 3306;

    /// <summary>
    /// Deployment <c>&lt;name&gt;</c>: <c>spec.replicas</c> Pods selected by the name and instance labels,
    /// rolling update with maxSurge 1 and maxUnavailable 0 (a new Pod is ready before an old one goes).
    /// </summary>
    public static V1Deployment Build(V1Alpha1UserApi userApi) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = OwnerReferences.ChildMetadata(userApi, UserApiNames.Workload(userApi)),
        Spec = new V1DeploymentSpec
        {
            Replicas = userApi.Spec.Replicas,
            Selector = new V1LabelSelector { MatchLabels = UserApiLabels.Selector(userApi) },
            Strategy = new V1DeploymentStrategy
            {
                Type = "RollingUpdate",
                RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = 1, MaxUnavailable = 0 },
            },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = UserApiLabels.For(userApi) },
                Spec = new V1PodSpec
                {
                    Containers = [Database(userApi), Api(userApi)],
                    Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
                    AutomountServiceAccountToken = false,
                    EnableServiceLinks = false,

                    // The runtime's default seccomp filter for every container (Pod Security "restricted").
                    SecurityContext = new V1PodSecurityContext { SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } },
                },
            },
        },
    };

    /// <summary>
    /// Container <c>db</c>: the MySQL image, root password from the password Secret, port named
    /// mysql with a TCP readiness probe. A user other than root is created by the image
    /// (<c>MYSQL_USER</c>/<c>MYSQL_PASSWORD</c>/<c>MYSQL_DATABASE</c>, the MySQL image's convention).
    /// </summary>
    private static V1Container Database(V1Alpha1UserApi userApi)
    {
        var database = userApi.Spec.Database;
        var env = new List<V1EnvVar> { SecretEnv("MYSQL_ROOT_PASSWORD", userApi) };
        if (database.User != "root")
        {
            env.Add(new V1EnvVar { Name = "MYSQL_USER", Value = database.User });
            env.Add(SecretEnv("MYSQL_PASSWORD", userApi));
            env.Add(new V1EnvVar { Name = "MYSQL_DATABASE", Value = database.Name });
        }

        return new V1Container
        {
            Name = DatabaseContainer,
            Image = database.Image,
            Args = database.Port == MySqlDefaultPort ? null : [$"--port={database.Port.ToString(CultureInfo.InvariantCulture)}"],
            Env = env,
            Ports = [new V1ContainerPort { Name = "mysql", ContainerPort = database.Port, Protocol = "TCP" }],
            ReadinessProbe = new V1Probe
            {
                TcpSocket = new V1TCPSocketAction { Port = "mysql" },
                InitialDelaySeconds = 5,
                PeriodSeconds = 10,
            },
            Resources = Resources(database.Resources),

            // The tightest context the MySQL image starts under: its entrypoint runs as root only to
            // chown the data directory and switch to the mysql user (gosu, setuid/setgid calls), so it
            // keeps CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID of the Pod Security "baseline" set
            // and drops every other capability; no privilege escalation.
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"] },
            },
        };
    }

    /// <summary>
    /// Container <c>api</c>: the API image reading MySQL over 127.0.0.1, port named http, liveness
    /// <c>GET /status</c>, readiness <c>GET readinessPath</c>, non-root with a read-only root
    /// filesystem (an emptyDir at /tmp), no privilege escalation, every capability dropped.
    /// </summary>
    private static V1Container Api(V1Alpha1UserApi userApi)
    {
        var api = userApi.Spec.Api;
        var database = userApi.Spec.Database;
        return new V1Container
        {
            Name = ApiContainer,
            Image = api.Image,
            ImagePullPolicy = api.ImagePullPolicy?.ToString(),
            Env =
            [
                new V1EnvVar { Name = "MYSQL_HOST", Value = "127.0.0.1" },
                new V1EnvVar { Name = "MYSQL_PORT", Value = database.Port.ToString(CultureInfo.InvariantCulture) },
                new V1EnvVar { Name = "MYSQL_USER", Value = database.User },
                SecretEnv("MYSQL_PASSWORD", userApi),
                new V1EnvVar { Name = "MYSQL_DATABASE", Value = database.Name },
                new V1EnvVar { Name = "ASPNETCORE_URLS", Value = $"http://0.0.0.0:{api.Port.ToString(CultureInfo.InvariantCulture)}" },
            ],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = api.Port, Protocol = "TCP" }],
            LivenessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/status", Port = "http" },
                InitialDelaySeconds = 10,
                PeriodSeconds = 10,
                TimeoutSeconds = 2,
                FailureThreshold = 3,
            },
            ReadinessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = api.ReadinessPath, Port = "http" },
                PeriodSeconds = 5,
                TimeoutSeconds = 2,
                FailureThreshold = 3,
            },
            Resources = Resources(api.Resources),
            SecurityContext = new V1SecurityContext
            {
                RunAsNonRoot = true,
                ReadOnlyRootFilesystem = true,
                AllowPrivilegeEscalation = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            VolumeMounts = [new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
        };
    }

    private static V1EnvVar SecretEnv(string name, V1Alpha1UserApi userApi)
    {
        var (secret, key) = UserApiNames.PasswordSource(userApi);
        return new V1EnvVar
        {
            Name = name,
            ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret, Key = key } },
        };
    }

    private static V1ResourceRequirements? Resources(ResourceRequirementsSpec? spec) =>
        spec is null || (spec.Requests is null && spec.Limits is null)
            ? null
            : new V1ResourceRequirements
            {
                Requests = spec.Requests is null ? null : new Dictionary<string, ResourceQuantity>(spec.Requests),
                Limits = spec.Limits is null ? null : new Dictionary<string, ResourceQuantity>(spec.Limits),
            };
}
