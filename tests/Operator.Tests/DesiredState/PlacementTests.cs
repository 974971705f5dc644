using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Manifests;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class PlacementTests
{
    private static V1PodTemplateSpec Template(string spec) => DeploymentBuilder.Build(UserApis.FromSpec(spec)).Spec!.Template;

    [Fact]
    public void By_default_the_pods_spread_across_nodes_without_blocking_scheduling()
    {
        var pod = Template("").Spec;

        var constraint = Assert.Single(pod.TopologySpreadConstraints!);
        Assert.Equal((1, "kubernetes.io/hostname", "ScheduleAnyway"), (constraint.MaxSkew, constraint.TopologyKey, constraint.WhenUnsatisfiable));
        Assert.Equal(
            new Dictionary<string, string> { ["app.kubernetes.io/name"] = "user-api", ["app.kubernetes.io/instance"] = "alpha" },
            constraint.LabelSelector!.MatchLabels);
        Assert.Null(pod.NodeSelector);
        Assert.Null(pod.Tolerations);
        Assert.Null(pod.Affinity);
        Assert.Null(pod.PriorityClassName);
        Assert.Null(pod.ImagePullSecrets);
        Assert.Null(Template("").Metadata!.Annotations);
    }

    [Fact]
    public void Every_placement_field_reaches_the_pod_template()
    {
        var template = Template("""
            pod:
              labels: {team: payments}
              annotations: {prometheus.io/scrape: "true"}
              nodeSelector: {disktype: ssd}
              tolerations: [{key: dedicated, operator: Equal, value: api, effect: NoSchedule}]
              affinity:
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a, b]}]}]
              topologySpreadConstraints:
              - {maxSkew: 2, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule}
              priorityClassName: business-critical
              imagePullSecrets: [{name: registry-creds}]
            """);
        var pod = template.Spec;

        Assert.Equal("payments", template.Metadata!.Labels!["team"]);
        Assert.Equal("alpha", template.Metadata.Labels["app.kubernetes.io/instance"]);
        Assert.Equal("true", template.Metadata.Annotations!["prometheus.io/scrape"]);
        Assert.Equal("ssd", pod.NodeSelector!["disktype"]);
        var toleration = Assert.Single(pod.Tolerations!);
        Assert.Equal(("dedicated", "Equal", "api", "NoSchedule"), (toleration.Key, toleration.OperatorProperty, toleration.Value, toleration.Effect));
        Assert.Equal(["a", "b"], pod.Affinity!.NodeAffinity!.RequiredDuringSchedulingIgnoredDuringExecution!.NodeSelectorTerms[0].MatchExpressions![0].Values!);
        var constraint = Assert.Single(pod.TopologySpreadConstraints!);
        Assert.Equal((2, "topology.kubernetes.io/zone", "DoNotSchedule"), (constraint.MaxSkew, constraint.TopologyKey, constraint.WhenUnsatisfiable));
        // A constraint without a labelSelector counts no Pods; it gets the UserApi's selector.
        Assert.Equal("alpha", constraint.LabelSelector!.MatchLabels!["app.kubernetes.io/instance"]);
        Assert.Equal("business-critical", pod.PriorityClassName);
        Assert.Equal("registry-creds", Assert.Single(pod.ImagePullSecrets!).Name);
    }

    [Fact]
    public void An_empty_constraint_list_turns_the_default_spread_off()
    {
        Assert.Empty(Template("pod: {topologySpreadConstraints: []}").Spec.TopologySpreadConstraints!);
    }

    [Theory]
    [InlineData("app.kubernetes.io/name")]
    [InlineData("app.kubernetes.io/instance")]
    [InlineData("app.kubernetes.io/managed-by")]
    public void Extra_labels_cannot_touch_the_operators_labels(string key)
    {
        var error = Assert.Throws<ManifestException>(() => UserApis.FromSpec($"pod: {{labels: {{\"{key}\": other}}}}"));

        Assert.Contains("spec.pod.labels: must not set app.kubernetes.io/name, app.kubernetes.io/instance or app.kubernetes.io/managed-by", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_selector_labels_win_should_a_colliding_label_get_past_validation()
    {
        var userApi = UserApis.FromSpec();
        userApi.Spec.Pod.Labels = new Dictionary<string, string> { ["app.kubernetes.io/instance"] = "other", ["team"] = "x" };

        var labels = DeploymentBuilder.PodLabels(userApi);

        Assert.Equal("alpha", labels["app.kubernetes.io/instance"]);
        Assert.Equal("x", labels["team"]);
    }

    [Fact]
    public void A_spread_constraint_without_its_required_fields_is_rejected_by_the_schema()
    {
        var error = Assert.Throws<ManifestException>(() => UserApis.FromSpec("pod: {topologySpreadConstraints: [{maxSkew: 1}]}"));

        Assert.Contains("spec.pod.topologySpreadConstraints[0].topologyKey: is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.pod.topologySpreadConstraints[0].whenUnsatisfiable: is required", error.Message, StringComparison.Ordinal);
    }
}
