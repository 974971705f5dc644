using k8s.Models;
using KubeApiFake;
using LocalCluster.ControllerManager;
using LocalCluster.Tests.Support;

namespace LocalCluster.Tests.ControllerManager;

/// <summary>The node lifecycle controller's health monitor against the fake API server: a node's heartbeat is the later of its Ready condition's and its Lease's.</summary>
public class NodeLifecycleControllerTests : FakeCluster
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(40);

    private void Node(string name, DateTime heartbeat, DateTime? leaseRenewed)
    {
        Put(NodesGvr, new V1Node
        {
            ApiVersion = "v1", Kind = "Node",
            Metadata = new V1ObjectMeta { Name = name },
            Status = new V1NodeStatus
            {
                Conditions =
                [
                    new V1NodeCondition { Type = "MemoryPressure", Status = "False", Reason = "KubeletHasSufficientMemory", LastHeartbeatTime = heartbeat, LastTransitionTime = heartbeat },
                    new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", Message = "kubelet is posting ready status", LastHeartbeatTime = heartbeat, LastTransitionTime = heartbeat },
                    new V1NodeCondition { Type = "NetworkUnavailable", Status = "False", Reason = "RouteCreated", LastHeartbeatTime = heartbeat, LastTransitionTime = heartbeat },
                ],
            },
        });
        if (leaseRenewed is { } renewed)
        {
            Put(KnownResources.Leases, new V1Lease
            {
                ApiVersion = "coordination.k8s.io/v1", Kind = "Lease",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "kube-node-lease" },
                Spec = new V1LeaseSpec { HolderIdentity = name, LeaseDurationSeconds = 40, RenewTime = renewed },
            });
        }
    }

    private V1NodeCondition Condition(string node, string type) =>
        Get<V1Node>(NodesGvr, null, node)!.Status.Conditions.Single(c => c.Type == type);

    [Fact]
    public async Task ANodeWithoutAHeartbeatForTheGracePeriodGoesUnknownAndOneWithAFreshLeaseStaysReady()
    {
        var now = DateTime.UtcNow;
        Node("silent", now.AddMinutes(-2), now.AddMinutes(-2));
        Node("leased", now.AddMinutes(-2), now.AddSeconds(-5));
        Node("posting", now.AddSeconds(-5), null);

        await new NodeLifecycleController(Client, Grace).MonitorAsync(CancellationToken.None);

        var ready = Condition("silent", "Ready");
        Assert.Equal(("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."), (ready.Status, ready.Reason, ready.Message));
        Assert.True(ready.LastTransitionTime > now.AddSeconds(-1), "the transition is now");
        Assert.Equal(now.AddMinutes(-2), ready.LastHeartbeatTime!.Value, TimeSpan.FromSeconds(1));
        Assert.Equal("Unknown", Condition("silent", "MemoryPressure").Status);
        Assert.Equal("False", Condition("silent", "NetworkUnavailable").Status); // not one the kubelet posts
        Assert.Equal("True", Condition("leased", "Ready").Status);
        Assert.Equal("True", Condition("posting", "Ready").Status);
    }

    [Fact]
    public async Task ANodeAlreadyUnknownIsLeftAsItIs()
    {
        var now = DateTime.UtcNow;
        Node("silent", now.AddMinutes(-2), null);
        var monitor = new NodeLifecycleController(Client, Grace);
        await monitor.MonitorAsync(CancellationToken.None);
        var first = Condition("silent", "Ready");
        await monitor.MonitorAsync(CancellationToken.None);
        Assert.Equal(first.LastTransitionTime, Condition("silent", "Ready").LastTransitionTime);
    }
}
