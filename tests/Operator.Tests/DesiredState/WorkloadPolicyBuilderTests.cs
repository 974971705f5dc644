using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Tests.Support;
using UserApiOperator.Validation;

namespace UserApiOperator.Tests.DesiredState;

/// <summary>The HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicy builders.</summary>
public class WorkloadPolicyBuilderTests
{
    [Fact]
    public void No_autoscaler_by_default()
    {
        Assert.Null(HorizontalPodAutoscalerBuilder.Build(UserApis.FromSpec()));
        Assert.Null(DesiredObjects.For(UserApis.FromSpec(), "pw").Autoscaler);
    }

    [Fact]
    public void The_autoscaler_scales_the_UserApi_itself_within_its_bounds_on_the_targets_set()
    {
        var hpa = HorizontalPodAutoscalerBuilder.Build(UserApis.FromSpec("autoscaling: {enabled: true, maxReplicas: 7, targetCPUUtilizationPercentage: 80, targetMemoryUtilizationPercentage: 75}"))!;

        Assert.Equal(("autoscaling/v2", "HorizontalPodAutoscaler", "alpha"), (hpa.ApiVersion, hpa.Kind, hpa.Metadata.Name));
        Assert.Equal(("userapi.example.com/v1alpha1", "UserApi", "alpha"), (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Equal((2, 7), (hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas));
        Assert.Equal(
            [("cpu", 80), ("memory", 75)],
            hpa.Spec.Metrics!.Select(m => (m.Resource!.Name, m.Resource.Target.AverageUtilization!.Value)));
        Assert.All(hpa.Spec.Metrics!, m => Assert.Equal(("Resource", "Utilization"), (m.Type, m.Resource!.Target.Type)));
        Assert.Equal(UserApis.Uid, Assert.Single(hpa.Metadata.OwnerReferences!).Uid);
    }

    [Fact]
    public void Without_targets_the_autoscaler_aims_at_80_percent_CPU_and_a_memory_target_alone_stays_alone()
    {
        var cpuDefault = HorizontalPodAutoscalerBuilder.Build(UserApis.FromSpec("autoscaling: {enabled: true}"))!;
        var memoryOnly = HorizontalPodAutoscalerBuilder.Build(UserApis.FromSpec("autoscaling: {enabled: true, targetMemoryUtilizationPercentage: 60}"))!;

        Assert.Equal([("cpu", 80)], cpuDefault.Spec.Metrics!.Select(m => (m.Resource!.Name, m.Resource.Target.AverageUtilization!.Value)));
        Assert.Equal([("memory", 60)], memoryOnly.Spec.Metrics!.Select(m => (m.Resource!.Name, m.Resource.Target.AverageUtilization!.Value)));
    }

    [Fact]
    public void Turning_autoscaling_on_or_off_leaves_the_Deployment_replicas_alone()
    {
        var off = DeploymentBuilder.Build(UserApis.FromSpec("replicas: 5"));
        var on = DeploymentBuilder.Build(UserApis.FromSpec("replicas: 5\nautoscaling: {enabled: true, minReplicas: 2, maxReplicas: 3}"));

        Assert.Equal((5, 5), (off.Spec.Replicas, on.Spec.Replicas));
    }

    [Fact]
    public void The_default_budget_allows_one_Pod_down_over_the_selector_labels()
    {
        var pdb = PodDisruptionBudgetBuilder.Build(UserApis.FromSpec())!;

        Assert.Equal(("policy/v1", "PodDisruptionBudget", "alpha"), (pdb.ApiVersion, pdb.Kind, pdb.Metadata.Name));
        Assert.Equal("1", Json.ToNode(pdb)["spec"]!["maxUnavailable"]!.ToJsonString());
        Assert.Null(pdb.Spec.MinAvailable);
        Assert.Equal(UserApiLabels.Selector(UserApis.FromSpec()), pdb.Spec.Selector.MatchLabels);
    }

    [Theory]
    [InlineData("replicas: 1", false)]
    [InlineData("replicas: 0", false)]
    [InlineData("replicas: 2", true)]
    [InlineData("replicas: 3\ndisruptionBudget: {enabled: false}", false)]
    [InlineData("replicas: 3\ndisruptionBudget: {minAvailable: 3}", false)]
    [InlineData("replicas: 3\ndisruptionBudget: {minAvailable: 2}", true)]
    [InlineData("replicas: 3\ndisruptionBudget: {minAvailable: \"100%\"}", false)]
    [InlineData("replicas: 4\ndisruptionBudget: {minAvailable: \"80%\"}", false)] // 3.2 rounds up to 4: no eviction left.
    [InlineData("replicas: 5\ndisruptionBudget: {minAvailable: \"60%\"}", true)]
    [InlineData("replicas: 3\ndisruptionBudget: {maxUnavailable: 0}", false)]
    [InlineData("replicas: 3\ndisruptionBudget: {maxUnavailable: \"0%\"}", false)]
    [InlineData("replicas: 3\ndisruptionBudget: {maxUnavailable: \"10%\"}", true)] // 0.3 rounds up to 1.
    public void A_budget_exists_only_while_two_replicas_run_and_it_allows_an_eviction(string spec, bool exists)
    {
        Assert.Equal(exists, PodDisruptionBudgetBuilder.Build(UserApis.FromSpec(spec)) is not null);
    }

    [Fact]
    public void MinAvailable_replaces_the_default_maxUnavailable_and_percentages_stay_strings()
    {
        var pdb = Json.ToNode(PodDisruptionBudgetBuilder.Build(UserApis.FromSpec("disruptionBudget: {minAvailable: \"50%\"}"))!)["spec"]!;

        Assert.Equal("\"50%\"", pdb["minAvailable"]!.ToJsonString());
        Assert.Null(pdb["maxUnavailable"]);
    }

    [Theory]
    [InlineData(3, null, "1", 1)]
    [InlineData(3, "2", null, 1)]
    [InlineData(10, "75%", null, 2)] // 7.5 -> 8 must stay.
    [InlineData(10, null, "25%", 3)] // 2.5 -> 3 may go.
    [InlineData(2, null, "5", 2)]
    public void Allowed_disruptions_round_percentages_up_as_the_disruption_controller_does(int replicas, string? min, string? max, int allowed)
    {
        static IntOrString? Value(string? text) => text is null ? null : text.EndsWith('%') ? (IntOrString)text : (IntOrString)int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(allowed, PodDisruptionBudgetBuilder.AllowedDisruptions(replicas, Value(min), Value(max)));
    }

    [Fact]
    public void The_network_policy_admits_only_the_http_port_of_the_UserApi_Pods()
    {
        var policy = NetworkPolicyBuilder.Build(UserApis.FromSpec("api: {port: 9000}"))!;

        Assert.Equal(("networking.k8s.io/v1", "NetworkPolicy", "alpha"), (policy.ApiVersion, policy.Kind, policy.Metadata.Name));
        Assert.Equal(UserApiLabels.Selector(UserApis.FromSpec()), policy.Spec.PodSelector.MatchLabels);
        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
        var rule = Assert.Single(policy.Spec.Ingress!);
        Assert.Null(rule.FromProperty); // From anywhere, but only...
        var port = Assert.Single(rule.Ports!);
        Assert.Equal(("TCP", "http"), (port.Protocol, port.Port!.Value)); // ...to the named API port, wherever it is.
        Assert.Null(policy.Spec.Egress);
    }

    [Fact]
    public void The_network_policy_is_on_by_default_and_off_when_disabled()
    {
        Assert.NotNull(DesiredObjects.For(UserApis.FromSpec(), "pw").NetworkPolicy);
        Assert.Null(NetworkPolicyBuilder.Build(UserApis.FromSpec("networkPolicy: {enabled: false}")));
    }

    [Fact]
    public void The_new_objects_come_after_the_Ingress_in_apply_order_and_carry_the_desired_hash()
    {
        var all = DesiredObjects.For(UserApis.FromSpec("autoscaling: {enabled: true}"), "pw").All().ToList();

        Assert.Equal(
            ["Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"],
            all.Select(o => o.Kind));
        Assert.All(all.Skip(1), o => Assert.True(o.Metadata.Annotations!.ContainsKey(DesiredHash.Annotation)));
    }

    [Theory]
    [InlineData("autoscaling: {minReplicas: 5, maxReplicas: 4}", "spec.autoscaling.minReplicas: minReplicas must be at most maxReplicas")]
    [InlineData("autoscaling: {maxReplicas: 1}", "spec.autoscaling.minReplicas: minReplicas must be at most maxReplicas")] // with the default minReplicas of 2
    [InlineData("disruptionBudget: {minAvailable: 1, maxUnavailable: 1}", "spec.disruptionBudget.minAvailable: set minAvailable or maxUnavailable, not both")]
    [InlineData("disruptionBudget: {maxUnavailable: \"150%\"}", "spec.disruptionBudget.maxUnavailable: \"150%\" does not match")]
    [InlineData("autoscaling: {maxReplicas: 101}", "spec.autoscaling.maxReplicas: must be at most 100, got 101")]
    public void Specs_the_child_objects_would_be_rejected_for_are_refused_by_render(string spec, string error)
    {
        var e = Assert.Throws<UserApiOperator.Manifests.ManifestException>(() => UserApis.FromSpec(spec));

        Assert.Contains(error, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_operator_applies_the_cross_field_rules_to_a_stored_object_too()
    {
        var userApi = UserApis.FromSpec();
        userApi.Spec.Autoscaling.MinReplicas = 9;
        userApi.Spec.Autoscaling.MaxReplicas = 3;
        userApi.Spec.DisruptionBudget.MinAvailable = 1;
        userApi.Spec.DisruptionBudget.MaxUnavailable = 1;

        Assert.Equal(
            ["spec.autoscaling.minReplicas: minReplicas must be at most maxReplicas (the API server refuses such a HorizontalPodAutoscaler)", "spec.disruptionBudget.minAvailable: set minAvailable or maxUnavailable, not both (the API server refuses such a PodDisruptionBudget)"],
            UserApiValidator.Validate(userApi).Select(e => e.ToString()));
    }
}
