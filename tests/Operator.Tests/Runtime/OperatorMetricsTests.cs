using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Observability;

namespace UserApiOperator.Tests.Runtime;

public class OperatorMetricsTests
{
    [Fact]
    public void Exposition_has_help_type_and_cumulative_histogram_buckets()
    {
        var metrics = new OperatorMetrics();
        metrics.ReconcileCompleted("userapi", "success", TimeSpan.FromMilliseconds(3));
        metrics.ReconcileCompleted("userapi", "success", TimeSpan.FromMilliseconds(40));
        metrics.ReconcileCompleted("userapi", "error", TimeSpan.FromSeconds(2));
        metrics.OnRequestCompleted(new KubernetesRequestInfo("PATCH", "apply", "deployments", "default", 200, TimeSpan.Zero, null));
        metrics.OnRequestCompleted(new KubernetesRequestInfo("GET", "get", "secrets", "default", null, TimeSpan.Zero, new HttpRequestException()));
        metrics.TrackQueueDepth("userapi", () => 4);
        metrics.TrackLeader("lease", () => true);

        var lines = metrics.Render().Split('\n');

        Assert.Contains("# TYPE controller_runtime_reconcile_total counter", lines);
        Assert.Contains("controller_runtime_reconcile_total{controller=\"userapi\",result=\"success\"} 2", lines);
        Assert.Contains("controller_runtime_reconcile_total{controller=\"userapi\",result=\"error\"} 1", lines);
        Assert.Contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"userapi\",le=\"0.005\"} 1", lines);
        Assert.Contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"userapi\",le=\"0.05\"} 2", lines);
        Assert.Contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"userapi\",le=\"1\"} 2", lines);
        Assert.Contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"userapi\",le=\"+Inf\"} 3", lines);
        Assert.Contains("controller_runtime_reconcile_time_seconds_count{controller=\"userapi\"} 3", lines);
        Assert.Contains("workqueue_depth{name=\"userapi\"} 4", lines);
        Assert.Contains("rest_client_requests_total{code=\"200\",method=\"PATCH\"} 1", lines);
        Assert.Contains("rest_client_requests_total{code=\"<error>\",method=\"GET\"} 1", lines);
        Assert.Contains("leader_election_master_status{name=\"lease\"} 1", lines);
        Assert.All(lines.Where(l => l.Length > 0 && !l.StartsWith('#')), l => Assert.Matches(@"^[a-z_]+(\{.*\})? [-+0-9.eE]+|\+Inf$", l));
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        var metrics = new OperatorMetrics();
        metrics.TrackQueueDepth("a\"b\\c\nd", () => 1);

        Assert.Contains("workqueue_depth{name=\"a\\\"b\\\\c\\nd\"} 1", metrics.Render(), StringComparison.Ordinal);
    }
}
