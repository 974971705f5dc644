using System.Text.Json.Nodes;
using k8s;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Validation;

namespace UserApiOperator.Tests.DesiredState;

/// <summary>
/// The Pods the operator makes pass the Pod Security Standards: "baseline" for every valid spec and
/// "restricted" for the api container (checked with the admission controller's rules in
/// <see cref="PodSecurityStandards"/>).
/// </summary>
public sealed class PodSecurityTests
{
    public static TheoryData<string> Specs() =>
    [
        "{}",
        """{"replicas":0}""",
        """{"database":{"user":"app","port":3307,"passwordSecretRef":{"name":"mine"}}}""",
        """{"database":{"resources":{"limits":{"memory":"2Gi"}}},"api":{"readinessPath":"/status","imagePullPolicy":"Always"}}""",
        """{"ingress":{"enabled":false},"service":{"port":80}}""",
        """{"database":{"external":{"host":"db.example.com","passwordSecretRef":{"name":"s"},"sslMode":"VerifyCA","caSecretRef":{"name":"ca"}}}}""",
        """{"pod":{"labels":{"team":"a"},"tolerations":[{"operator":"Exists"}],"priorityClassName":"high","imagePullSecrets":[{"name":"r"}]}}""",
        // The most a database securityContext can ask for: every capability baseline allows, root,
        // privilege escalation, a node's own seccomp profile. Still baseline.
        MostPermissiveDatabaseContext,
    ];

    private const string MostPermissiveDatabaseContext = """
        {"database":{"securityContext":{"runAsUser":0,"runAsGroup":0,"runAsNonRoot":false,"allowPrivilegeEscalation":true,"readOnlyRootFilesystem":false,
          "capabilities":{"add":["AUDIT_WRITE","CHOWN","DAC_OVERRIDE","FOWNER","FSETID","KILL","MKNOD","NET_BIND_SERVICE","SETFCAP","SETGID","SETPCAP","SETUID","SYS_CHROOT"],"drop":[]},
          "seccompProfile":{"type":"Localhost","localhostProfile":"profiles/mysql.json"}}}}
        """;

    [Fact]
    public void The_most_permissive_database_context_is_valid_and_replaces_the_default()
    {
        var userApi = KubernetesJson.Deserialize<V1Alpha1UserApi>($$"""{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","metadata":{"name":"alpha","namespace":"default","uid":"u1"},"spec":{{MostPermissiveDatabaseContext}}}""");
        Assert.Empty(UserApiValidator.Validate(userApi));

        var db = PodSpec(MostPermissiveDatabaseContext)["containers"]!.AsArray().Single(c => (string?)c!["name"] == DeploymentBuilder.DatabaseContainer)!;
        Assert.Equal(0, (int)db["securityContext"]!["runAsUser"]!);
        Assert.True((bool)db["securityContext"]!["allowPrivilegeEscalation"]!);
        Assert.Equal(13, db["securityContext"]!["capabilities"]!["add"]!.AsArray().Count);
        Assert.Equal("Localhost", (string?)db["securityContext"]!["seccompProfile"]!["type"]);
    }

    [Theory]
    [InlineData("""{"capabilities":{"add":["SYS_ADMIN"]}}""", "spec.database.securityContext.capabilities.add[0]: must be one of AUDIT_WRITE, CHOWN,")]
    [InlineData("""{"privileged":true}""", "spec.database.securityContext.privileged: unknown field")]
    [InlineData("""{"seccompProfile":{"type":"Unconfined"}}""", "spec.database.securityContext.seccompProfile.type: must be one of RuntimeDefault, Localhost")]
    [InlineData("""{"seccompProfile":{"type":"Localhost"}}""", "spec.database.securityContext.seccompProfile.localhostProfile: a Localhost seccomp profile needs localhostProfile")]
    [InlineData("""{"procMount":"Unmasked"}""", "spec.database.securityContext.procMount: unknown field")]
    public void A_database_context_that_would_break_baseline_is_rejected(string context, string expected)
    {
        var errors = UserApiValidator.ValidateSpec(JsonNode.Parse($$$"""{"database":{"securityContext":{{{context}}}}}"""));

        Assert.Contains(errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
    }

    private static JsonNode PodSpec(string spec)
    {
        var userApi = KubernetesJson.Deserialize<V1Alpha1UserApi>($$"""{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","metadata":{"name":"alpha","namespace":"default","uid":"u1"},"spec":{{spec}}}""");
        var deployment = DeploymentBuilder.Build(userApi);
        return JsonNode.Parse(KubernetesJson.Serialize(deployment))!["spec"]!["template"]!["spec"]!;
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void The_pod_passes_baseline(string spec) =>
        Assert.Empty(PodSecurityStandards.Violations(PodSpec(spec), PodSecurityLevel.Baseline));

    [Theory]
    [MemberData(nameof(Specs))]
    public void The_api_container_passes_restricted(string spec) =>
        Assert.Empty(PodSecurityStandards.Violations(PodSpec(spec), PodSecurityLevel.Restricted, [DeploymentBuilder.ApiContainer]));

    [Fact]
    public void The_pod_has_the_runtime_default_seccomp_profile_and_the_db_container_limits()
    {
        var pod = PodSpec("{}");
        Assert.Equal("RuntimeDefault", (string?)pod["securityContext"]!["seccompProfile"]!["type"]);
        var db = pod["containers"]!.AsArray().Single(c => (string?)c!["name"] == DeploymentBuilder.DatabaseContainer)!;
        Assert.Equal("1Gi", (string?)db["resources"]!["limits"]!["memory"]);
        Assert.False((bool)db["securityContext"]!["allowPrivilegeEscalation"]!);
        Assert.Equal(["ALL"], db["securityContext"]!["capabilities"]!["drop"]!.AsArray().Select(v => (string?)v));
    }
}
