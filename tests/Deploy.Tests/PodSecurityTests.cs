using System.Text.Json.Nodes;
using static UserApiOperator.Deploy.Tests.Manifest;

namespace UserApiOperator.Deploy.Tests;

/// <summary>The manager Pod of <c>config/default</c> passes the "restricted" Pod Security Standard, and the checker itself catches each rule.</summary>
public sealed class PodSecurityTests
{
    private static JsonNode ManagerPod => At(RenderedManifests.Single("Deployment"), "spec", "template", "spec")!;

    [Fact]
    public void Manager_pod_passes_restricted()
    {
        Assert.Empty(PodSecurityStandards.Violations(ManagerPod, PodSecurityLevel.Restricted));
    }

    [Theory]
    [InlineData("""{"hostNetwork":true,"containers":[{"name":"c"}]}""", "hostNetwork")]
    [InlineData("""{"volumes":[{"name":"h","hostPath":{"path":"/"}}],"containers":[{"name":"c"}]}""", "hostPath")]
    [InlineData("""{"containers":[{"name":"c","securityContext":{"privileged":true}}]}""", "privileged")]
    [InlineData("""{"containers":[{"name":"c","securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}]}""", "SYS_ADMIN")]
    [InlineData("""{"containers":[{"name":"c","ports":[{"name":"p","containerPort":80,"hostPort":80}]}]}""", "hostPort")]
    [InlineData("""{"securityContext":{"seccompProfile":{"type":"Unconfined"}},"containers":[{"name":"c"}]}""", "Unconfined")]
    [InlineData("""{"securityContext":{"sysctls":[{"name":"kernel.msgmax","value":"1"}]},"containers":[{"name":"c"}]}""", "kernel.msgmax")]
    public void Baseline_violations_are_found(string spec, string expected)
    {
        var violations = PodSecurityStandards.Violations(JsonNode.Parse(spec)!, PodSecurityLevel.Baseline);
        Assert.Contains(violations, v => v.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Restricted_needs_every_hardening_field_and_pod_level_fields_count_for_containers()
    {
        var bare = JsonNode.Parse("""{"containers":[{"name":"c"}]}""")!;
        Assert.Empty(PodSecurityStandards.Violations(bare, PodSecurityLevel.Baseline));
        var violations = PodSecurityStandards.Violations(bare, PodSecurityLevel.Restricted);
        foreach (var field in new[] { "allowPrivilegeEscalation", "runAsNonRoot", "seccompProfile", "drop must contain ALL" })
        {
            Assert.Contains(violations, v => v.Contains(field, StringComparison.Ordinal));
        }

        var hardened = JsonNode.Parse("""
            {"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},
             "containers":[{"name":"c","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"],"add":["NET_BIND_SERVICE"]}}},
                           {"name":"root","securityContext":{"runAsUser":0}}]}
            """)!;
        Assert.Empty(PodSecurityStandards.Violations(hardened, PodSecurityLevel.Restricted, ["c"]));
        Assert.Contains(PodSecurityStandards.Violations(hardened, PodSecurityLevel.Restricted), v => v.StartsWith("container root: runAsUser", StringComparison.Ordinal));
    }
}
