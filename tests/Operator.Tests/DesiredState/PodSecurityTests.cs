using System.Text.Json.Nodes;
using k8s;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;

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
    ];

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
