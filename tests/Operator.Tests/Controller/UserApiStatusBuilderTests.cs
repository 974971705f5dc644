using UserApiOperator.Controllers;
using UserApiOperator.Entities;
using k8s.Models;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.Controller;

public class UserApiStatusBuilderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static V1Deployment Deployment(int ready, int updated = 3, int replicas = 3, long generation = 1, long observed = 1) => new()
    {
        Metadata = new V1ObjectMeta { Name = "alpha", Generation = generation },
        Spec = new V1DeploymentSpec { Selector = new V1LabelSelector(), Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [] } } },
        Status = new V1DeploymentStatus { ObservedGeneration = observed, Replicas = replicas, UpdatedReplicas = updated, ReadyReplicas = ready },
    };

    private static (string Status, string Reason) Get(UserApiStatus status, string type) =>
        Conditions.Find(status.Conditions, type) is { } c ? (c.Status, c.Reason) : ("", "");

    [Fact]
    public void Rolling_out_is_progressing_and_not_ready()
    {
        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 1), null, null, T0);

        Assert.Equal(("False", "ReplicasNotReady"), Get(status, Conditions.Ready));
        Assert.Equal(("True", "RollingOut"), Get(status, Conditions.Progressing));
        Assert.Equal(("False", "AsExpected"), Get(status, Conditions.Degraded));
        Assert.Equal("1/3 replicas ready", Conditions.Find(status.Conditions, Conditions.Ready)!.Message);
    }

    [Fact]
    public void Pods_that_say_why_they_are_not_ready_give_the_Ready_condition_their_reason()
    {
        var why = new NotReadyReason("Unschedulable", "Pod alpha-5f7c9-abcde cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.");

        var pending = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 2), null, null, T0, why);
        Assert.Equal(("False", "Unschedulable"), Get(pending, Conditions.Ready));
        Assert.Equal("2/3 replicas ready; Pod alpha-5f7c9-abcde cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.", Conditions.Find(pending.Conditions, Conditions.Ready)!.Message);
        Assert.Equal(("True", "RollingOut"), Get(pending, Conditions.Progressing));

        // A problem of the operator's own goes first; a complete rollout is Ready whatever a surplus Pod says.
        var blocked = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 2), null, new Problem("SecretNotFound", "missing"), T0, why);
        Assert.Equal(("False", "SecretNotFound"), Get(blocked, Conditions.Ready));
        var ready = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 3), null, null, T0, why);
        Assert.Equal(("True", "Available"), Get(ready, Conditions.Ready));
    }

    [Fact]
    public void No_deployment_yet_is_creating()
    {
        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), null, null, null, T0);

        Assert.Equal(("True", "Creating"), Get(status, Conditions.Progressing));
        Assert.Equal((0, 0), (status.Replicas, status.ReadyReplicas));
    }

    [Fact]
    public void Complete_rollout_is_ready()
    {
        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 3), null, null, T0);

        Assert.Equal(("True", "Available"), Get(status, Conditions.Ready));
        Assert.Equal(("False", "RolloutComplete"), Get(status, Conditions.Progressing));
    }

    [Theory]
    [InlineData(3, 2, 3, 1, 1)] // old template still serving
    [InlineData(3, 3, 4, 1, 1)] // surge Pod not yet gone
    [InlineData(3, 3, 3, 2, 1)] // Deployment controller has not seen the new spec
    public void Not_ready_until_the_rollout_is_complete(int ready, int updated, int replicas, long generation, long observed)
    {
        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready, updated, replicas, generation, observed), null, null, T0);

        Assert.Equal("False", Get(status, Conditions.Ready).Status);
    }

    [Fact]
    public void Scaled_to_zero_is_ready()
    {
        var deployment = Deployment(ready: 0, updated: 0, replicas: 0);

        Assert.Equal("True", Get(UserApiStatusBuilder.Build(UserApis.FromSpec("replicas: 0"), deployment, null, null, T0), Conditions.Ready).Status);
    }

    [Fact]
    public void A_problem_is_degraded_and_not_ready()
    {
        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), Deployment(ready: 3), null, new Problem("SecretNotFound", "missing"), T0);

        Assert.Equal(("False", "SecretNotFound"), Get(status, Conditions.Ready));
        Assert.Equal(("True", "SecretNotFound"), Get(status, Conditions.Degraded));
        Assert.Equal(("False", "Blocked"), Get(status, Conditions.Progressing));
    }

    [Fact]
    public void A_failed_rollout_is_degraded()
    {
        var deployment = Deployment(ready: 1);
        deployment.Status!.Conditions = [new V1DeploymentCondition { Type = "Progressing", Status = "False", Reason = "ProgressDeadlineExceeded", Message = "ReplicaSet \"alpha-1\" has timed out progressing." }];

        var status = UserApiStatusBuilder.Build(UserApis.FromSpec(), deployment, null, null, T0);

        Assert.Equal(("True", "RolloutFailed"), Get(status, Conditions.Degraded));
        Assert.Contains("timed out", Conditions.Find(status.Conditions, Conditions.Degraded)!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Transition_time_changes_only_with_the_status()
    {
        var userApi = UserApis.FromSpec();
        userApi.Status = UserApiStatusBuilder.Build(userApi, Deployment(ready: 1), null, null, T0);

        var later = UserApiStatusBuilder.Build(userApi, Deployment(ready: 2), null, null, T0.AddMinutes(1));
        Assert.All(later.Conditions!, c => Assert.Equal(T0, c.LastTransitionTime));
        Assert.Equal("2/3 replicas ready", Conditions.Find(later.Conditions, Conditions.Ready)!.Message);

        userApi.Status = later;
        var ready = UserApiStatusBuilder.Build(userApi, Deployment(ready: 3), null, null, T0.AddMinutes(2));
        Assert.Equal(T0.AddMinutes(2), Conditions.Find(ready.Conditions, Conditions.Ready)!.LastTransitionTime);
        Assert.Equal(T0, Conditions.Find(ready.Conditions, Conditions.Degraded)!.LastTransitionTime);
    }

    [Theory]
    [InlineData("ingress: {host: users.example.com, path: /api}", null, "http://users.example.com/api")]
    [InlineData("ingress: {host: users.example.com, tlsSecretName: tls}", null, "https://users.example.com/")]
    [InlineData("", "10.0.0.7", "http://10.0.0.7/")]
    [InlineData("", "lb.example.net", "http://lb.example.net/")]
    [InlineData("", "fd00::1", "http://[fd00::1]/")]
    [InlineData("", null, null)]
    [InlineData("ingress: {enabled: false, host: users.example.com}", null, null)]
    public void Url_comes_from_the_host_or_the_ingress_address(string spec, string? address, string? url)
    {
        var ingress = address is null ? null : new V1Ingress
        {
            Status = new V1IngressStatus
            {
                LoadBalancer = new V1IngressLoadBalancerStatus
                {
                    Ingress = [address.Any(char.IsLetter) && !address.Contains(':', StringComparison.Ordinal) ? new V1IngressLoadBalancerIngress { Hostname = address } : new V1IngressLoadBalancerIngress { Ip = address }],
                },
            },
        };

        Assert.Equal(url, UserApiStatusBuilder.Url(UserApis.FromSpec(spec), ingress));
    }
}
