using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// A local cluster of three nodes (<c>hack/local-cluster.sh up --nodes 3</c>: <c>local-cluster</c>,
/// <c>local-cluster-m02</c>, <c>local-cluster-m03</c>, zones a, b and c) with the operator installed
/// from config/default, for the scheduler, drain, budget and autoscaler tests. The controller
/// manager runs with a scale-down stabilization window of <see cref="DownscaleStabilization"/> (the
/// window the autoscaling test sets: kube-controller-manager's
/// <c>--horizontal-pod-autoscaler-downscale-stabilization</c>, 5 minutes by default) and a node
/// monitor grace period of <see cref="NodeMonitorGracePeriod"/>.
/// </summary>
public sealed class MultiNodeClusterFixture(IMessageSink sink) : OperatorClusterFixture(sink)
{
    /// <summary>The scale-down stabilization window of the HPA controller.</summary>
    public static readonly TimeSpan DownscaleStabilization = TimeSpan.FromSeconds(30);

    /// <summary>How long a node may go without a heartbeat before its Ready condition is Unknown.</summary>
    public static readonly TimeSpan NodeMonitorGracePeriod = TimeSpan.FromSeconds(20);

    /// <inheritdoc/>
    public override int Nodes => 3;

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, string> ClusterEnvironment => new Dictionary<string, string>
    {
        ["LOCAL_CLUSTER_HPA_DOWNSCALE_STABILIZATION"] = DownscaleStabilization.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LOCAL_CLUSTER_NODE_MONITOR_GRACE_PERIOD"] = NodeMonitorGracePeriod.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
