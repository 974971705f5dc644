using LocalCluster.ApiServer;
using LocalCluster.Kubelet;

namespace LocalCluster.Tests.ControllerManager;

/// <summary>What several nodes rest on: one credential per <c>--node-name</c>, and each node's cgroup root.</summary>
public class NodeFlagsTests
{
    [Fact]
    public void TheApiServerTakesOneNodeNamePerNodeAndTheFirstIsTheDefaultCredentials()
    {
        var settings = ApiServerCommand.Parse(["--state-dir", "/tmp/x", "--node-name", "local-cluster", "--node-name", "local-cluster-m02"])!;
        Assert.Equal(["local-cluster", "local-cluster-m02"], settings.NodeNames);
        Assert.Equal("local-cluster", settings.NodeName);
        Assert.Equal(["local-cluster"], ApiServerCommand.Parse(["--state-dir", "/tmp/x"])!.NodeNames);
        Assert.Null(ApiServerCommand.Parse(["--state-dir", "/tmp/x", "--node-name", "a", "--node-name", "a"]));
    }

    [Fact]
    public void TheFirstNodeKeepsTheClusterCgroupAndTheOthersNestUnderIt()
    {
        Assert.Equal("/local-cluster/pod123", NodeCgroups.Pod("local-cluster", "123"));
        Assert.Equal("/local-cluster/local-cluster-m02/pod123", NodeCgroups.Pod("local-cluster-m02", "123"));
    }
}
