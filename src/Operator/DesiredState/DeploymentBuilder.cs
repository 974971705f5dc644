using System.Globalization;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.DesiredState;

/// <summary>
/// Builds the Deployment of a UserApi (DESIGN.md section 3): Pods pairing a MySQL container with the
/// API container, or the API container alone against <c>spec.database.external</c>; placed as
/// <c>spec.pod</c> says (by default spread across nodes).
/// </summary>
public static class DeploymentBuilder
{
    /// <summary>Name of the MySQL container.</summary>
    public const string DatabaseContainer = "db";

    /// <summary>Name of the API container.</summary>
    public const string ApiContainer = "api";

    /// <summary>Port the MySQL image listens on unless told otherwise.</summary>
    public const int MySqlDefaultPort = 3306;

    /// <summary>Volume (and directory) of the external database's CA certificate in the api container.</summary>
    public const string CaVolume = "mysql-ca";

    /// <summary>Directory the CA Secret's key is mounted in; the file is <c>ca.pem</c> there.</summary>
    public const string CaDirectory = "/etc/userapi/mysql-ca";

    /// <summary>Node label of the default spread constraint: one domain per node.</summary>
    public const string HostnameTopologyKey = "kubernetes.io/hostname";

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
                Metadata = new V1ObjectMeta { Labels = PodLabels(userApi), Annotations = Copy(userApi.Spec.Pod.Annotations) },
                Spec = new V1PodSpec
                {
                    Containers = userApi.Spec.Database.External is null ? [Database(userApi), Api(userApi)] : [Api(userApi)],
                    Volumes = Volumes(userApi),
                    AutomountServiceAccountToken = false,
                    EnableServiceLinks = false,

                    // The runtime's default seccomp filter for every container (Pod Security "restricted").
                    SecurityContext = new V1PodSecurityContext { SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } },
                    NodeSelector = Copy(userApi.Spec.Pod.NodeSelector),
                    Tolerations = userApi.Spec.Pod.Tolerations?.ToList(),
                    Affinity = userApi.Spec.Pod.Affinity,
                    TopologySpreadConstraints = SpreadConstraints(userApi),
                    PriorityClassName = userApi.Spec.Pod.PriorityClassName,
                    ImagePullSecrets = userApi.Spec.Pod.ImagePullSecrets?.ToList(),
                },
            },
        },
    };

    /// <summary>
    /// The Pod labels: <c>spec.pod.labels</c> and then the operator's own (name, instance, managed-by),
    /// which win: the validator rejects extra labels with those keys, and should one get past it the
    /// selector still matches the Pods.
    /// </summary>
    public static Dictionary<string, string> PodLabels(V1Alpha1UserApi userApi)
    {
        var labels = new Dictionary<string, string>(userApi.Spec.Pod.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in UserApiLabels.For(userApi))
        {
            labels[key] = value;
        }

        return labels;
    }

    /// <summary>
    /// <c>spec.pod.topologySpreadConstraints</c>, each without a labelSelector given the Pod selector;
    /// unset: one constraint spreading the Pods across nodes (maxSkew 1, ScheduleAnyway, so a
    /// single-node cluster still runs every replica).
    /// </summary>
    public static List<V1TopologySpreadConstraint> SpreadConstraints(V1Alpha1UserApi userApi) =>
        userApi.Spec.Pod.TopologySpreadConstraints is { } constraints
            ? constraints.Select(c => c with { LabelSelector = c.LabelSelector ?? new V1LabelSelector { MatchLabels = UserApiLabels.Selector(userApi) } }).ToList()
            :
            [
                new V1TopologySpreadConstraint
                {
                    MaxSkew = 1,
                    TopologyKey = HostnameTopologyKey,
                    WhenUnsatisfiable = "ScheduleAnyway",
                    LabelSelector = new V1LabelSelector { MatchLabels = UserApiLabels.Selector(userApi) },
                },
            ];

    private static List<V1Volume> Volumes(V1Alpha1UserApi userApi)
    {
        var volumes = new List<V1Volume> { new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() } };
        if (userApi.Spec.Database.External?.CaSecretRef is { } ca)
        {
            volumes.Add(new V1Volume
            {
                Name = CaVolume,
                Secret = new V1SecretVolumeSource { SecretName = ca.Name, Items = [new V1KeyToPath { Key = ca.Key, Path = "ca.pem" }] },
            });
        }

        return volumes;
    }

    private static Dictionary<string, string>? Copy(IDictionary<string, string>? map) =>
        map is null || map.Count == 0 ? null : new Dictionary<string, string>(map, StringComparer.Ordinal);

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
            Image = database.Image ?? DatabaseSpec.DefaultImage,
            Args = database.Port == MySqlDefaultPort ? null : [$"--port={database.Port.ToString(CultureInfo.InvariantCulture)}"],
            Env = env,
            Ports = [new V1ContainerPort { Name = "mysql", ContainerPort = database.Port, Protocol = "TCP" }],
            ReadinessProbe = new V1Probe
            {
                TcpSocket = new V1TCPSocketAction { Port = "mysql" },
                InitialDelaySeconds = 5,
                PeriodSeconds = 10,
            },
            Resources = Resources(database.Resources ?? DatabaseSpec.DefaultResources),
            SecurityContext = database.SecurityContext is { } custom ? SecurityContext(custom) : DefaultDatabaseSecurityContext(),
        };
    }

    /// <summary>
    /// The tightest context the MySQL image starts under: its entrypoint runs as root only to
    /// chown the data directory and switch to the mysql user (gosu, setuid/setgid calls), so it
    /// keeps CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID of the Pod Security "baseline" set
    /// and drops every other capability; no privilege escalation.
    /// </summary>
    public static V1SecurityContext DefaultDatabaseSecurityContext() => new()
    {
        AllowPrivilegeEscalation = false,
        Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"] },
    };

    /// <summary><c>spec.database.securityContext</c> as a container's security context (field for field).</summary>
    public static V1SecurityContext SecurityContext(DatabaseSecurityContextSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new V1SecurityContext
        {
            RunAsUser = spec.RunAsUser,
            RunAsGroup = spec.RunAsGroup,
            RunAsNonRoot = spec.RunAsNonRoot,
            AllowPrivilegeEscalation = spec.AllowPrivilegeEscalation,
            ReadOnlyRootFilesystem = spec.ReadOnlyRootFilesystem,
            Capabilities = spec.Capabilities is { } caps
                ? new V1Capabilities { Add = caps.Add?.Select(c => c.ToString()).ToList(), Drop = caps.Drop?.ToList() }
                : null,
            SeccompProfile = spec.SeccompProfile is { } profile
                ? new V1SeccompProfile { Type = profile.Type.ToString(), LocalhostProfile = profile.LocalhostProfile }
                : null,
        };
    }

    /// <summary>
    /// Container <c>api</c>: the API image reading MySQL over 127.0.0.1 (or the external server of
    /// <c>spec.database.external</c>, with its TLS mode and mounted CA), port named http, liveness
    /// <c>GET /status</c>, readiness <c>GET readinessPath</c>, non-root with a read-only root
    /// filesystem (an emptyDir at /tmp), no privilege escalation, every capability dropped.
    /// </summary>
    private static V1Container Api(V1Alpha1UserApi userApi)
    {
        var api = userApi.Spec.Api;
        var database = userApi.Spec.Database;
        var external = database.External;
        var env = external is null
            ? new List<V1EnvVar>
            {
                new() { Name = "MYSQL_HOST", Value = "127.0.0.1" },
                new() { Name = "MYSQL_PORT", Value = database.Port.ToString(CultureInfo.InvariantCulture) },
                new() { Name = "MYSQL_USER", Value = database.User },
                SecretEnv("MYSQL_PASSWORD", userApi),
                new() { Name = "MYSQL_DATABASE", Value = database.Name },
            }
            : new List<V1EnvVar>
            {
                new() { Name = "MYSQL_HOST", Value = external.Host },
                new() { Name = "MYSQL_PORT", Value = external.Port.ToString(CultureInfo.InvariantCulture) },
                new() { Name = "MYSQL_USER", Value = external.User },
                SecretEnv("MYSQL_PASSWORD", userApi),
                new() { Name = "MYSQL_DATABASE", Value = external.Database },
                new() { Name = "MYSQL_SSL_MODE", Value = external.SslMode.ToString() },
            };
        if (external?.CaSecretRef is not null)
        {
            env.Add(new V1EnvVar { Name = "MYSQL_SSL_CA", Value = $"{CaDirectory}/ca.pem" });
        }

        env.Add(new V1EnvVar { Name = "ASPNETCORE_URLS", Value = $"http://0.0.0.0:{api.Port.ToString(CultureInfo.InvariantCulture)}" });
        var mounts = new List<V1VolumeMount> { new() { Name = "tmp", MountPath = "/tmp" } };
        if (external?.CaSecretRef is not null)
        {
            mounts.Add(new V1VolumeMount { Name = CaVolume, MountPath = CaDirectory, ReadOnlyProperty = true });
        }

        return new V1Container
        {
            Name = ApiContainer,
            Image = api.Image,
            ImagePullPolicy = api.ImagePullPolicy?.ToString(),
            Env = env,
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
            VolumeMounts = mounts,
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
