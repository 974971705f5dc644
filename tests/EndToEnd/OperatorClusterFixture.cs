using System.Diagnostics;
using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The local cluster with the operator installed as users install it: <c>kubectl apply -k
/// config/default</c> (namespace <c>userapi-system</c>, the CRD, the RBAC, the manager Deployment
/// running the <c>userapi-operator:latest</c> image from the node's store, with <c>--leader-elect</c>),
/// then <c>kubectl rollout status</c> of the manager. The operator runs in its Pod, configured
/// in-cluster, as its ServiceAccount; its log is read with <c>kubectl logs</c>.
/// </summary>
public class OperatorClusterFixture(IMessageSink sink) : LocalClusterFixture(sink)
{
    /// <summary>The manager's namespace.</summary>
    public const string Namespace = "userapi-system";

    /// <summary>The manager's Deployment (config/manager, with config/default's name prefix).</summary>
    public const string Manager = "userapi-operator-controller-manager";

    /// <summary>The label selector of the manager's Pods.</summary>
    public const string ManagerSelector = "control-plane=controller-manager";

    /// <summary>The user the manager's requests are authenticated as: its ServiceAccount.</summary>
    public const string ServiceAccountUser = "system:serviceaccount:" + Namespace + ":" + Manager;

    /// <summary>Seconds from <c>kubectl apply -k</c> to the manager's rollout.</summary>
    public double InstallSeconds { get; private set; }

    /// <inheritdoc/>
    protected override async Task InstallAsync()
    {
        var watch = Stopwatch.StartNew();
        var apply = await KubectlAsync("apply", "-k", "config/default");
        Assert.True(apply.ExitCode == 0, apply.Transcript);
        var rollout = await KubectlAsync("-n", Namespace, "rollout", "status", $"deployment/{Manager}", "--timeout=150s");
        InstallSeconds = watch.Elapsed.TotalSeconds;
        if (rollout.ExitCode != 0)
        {
            var pods = await KubectlAsync("-n", Namespace, "describe", "pods");
            throw new InvalidOperationException($"the manager did not roll out:\n{rollout.Transcript}\n{pods.Output}");
        }
        Report($"budget: kubectl apply -k config/default to the manager rolled out: {InstallSeconds:0.0} s");
    }

    /// <summary><c>kubectl -n userapi-system logs deployment/userapi-operator-controller-manager ARGS</c>.</summary>
    public Task<Result> ManagerLogsAsync(params string[] args) =>
        KubectlAsync(["-n", Namespace, "logs", $"deployment/{Manager}", .. args]);
}
