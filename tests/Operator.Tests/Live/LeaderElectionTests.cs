using System.Diagnostics;
using System.Text.Json.Nodes;
using KubeApiFake;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using UserApiOperator.Hosting;
using k8s;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Manager;
using UserApiOperator.Runtime.LeaderElection;

namespace UserApiOperator.Tests.Live;

/// <summary>Leader election on a Lease of the fake API server, with short timings (lease 2 s, renew deadline 1.5 s, retry 0.2 s).</summary>
public sealed class LeaderElectionTests
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    private static LeaderElectionOptions Fast(string identity) => new()
    {
        LeaseName = "test-leader",
        Namespace = "default",
        Identity = identity,
        LeaseDuration = LeaseDuration,
        RenewDeadline = TimeSpan.FromMilliseconds(1500),
        RetryPeriod = TimeSpan.FromMilliseconds(200),
    };

    private static LeaseElector Elector(LiveOperator live, string identity)
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(live.KubeconfigPath));
        return new LeaseElector(client, new EventRecorder(client, "userapi-operator", identity, TimeProvider.System, NullLogger<EventRecorder>.Instance), Fast(identity), NullLogger<LeaseElector>.Instance);
    }

    /// <summary>Runs a candidate whose leading work marks itself in <paramref name="leaders"/> until cancelled.</summary>
    private static (Task<bool> Run, CancellationTokenSource Stop, TaskCompletionSource Leading, TaskCompletionSource Stopped) Candidate(LeaseElector elector, ConcurrentLeaders leaders)
    {
        var stop = new CancellationTokenSource();
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = elector.RunAsync(
            async token =>
            {
                leaders.Enter();
                leading.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                finally
                {
                    leaders.Leave();
                    stopped.TrySetResult();
                }
            },
            stop.Token);
        return (run, stop, leading, stopped);
    }

    [Fact]
    public async Task Two_candidates_never_lead_at_once_and_a_clean_stop_hands_over_at_once()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var leaders = new ConcurrentLeaders();
        var a = Candidate(Elector(live, "a"), leaders);
        var b = Candidate(Elector(live, "b"), leaders);

        var first = await Task.WhenAny(a.Leading.Task, b.Leading.Task).WaitAsync(LiveOperator.Timeout);
        var (leader, standby) = first == a.Leading.Task ? (a, b) : (b, a);
        await Task.Delay(LeaseDuration * 2); // Several renewals; the standby keeps waiting.
        Assert.False(standby.Leading.Task.IsCompleted);

        var handover = Stopwatch.StartNew();
        await leader.Stop.CancelAsync();
        Assert.False(await leader.Run);
        await standby.Leading.Task.WaitAsync(LiveOperator.Timeout);

        Assert.True(handover.Elapsed < LeaseDuration, $"released lease taken over in {handover.Elapsed}");
        Assert.Equal(1, leaders.Max);
        await standby.Stop.CancelAsync();
        await standby.Run;
    }

    [Fact]
    public async Task A_dead_leaders_lease_is_taken_over_after_the_lease_duration_not_before()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        live.Api.Store.Put(KnownResources.Leases, new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = new JsonObject { ["name"] = "test-leader", ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["holderIdentity"] = "dead", ["leaseDurationSeconds"] = 2, ["acquireTime"] = now, ["renewTime"] = now, ["leaseTransitions"] = 0 },
        });
        var leaders = new ConcurrentLeaders();
        var clock = Stopwatch.StartNew();

        var candidate = Candidate(Elector(live, "next"), leaders);
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);

        Assert.InRange(clock.Elapsed, LeaseDuration * 0.9, LeaseDuration * 2);
        var lease = live.Get(KnownResources.Leases, "test-leader")!;
        Assert.Equal("next", (string?)lease["spec"]!["holderIdentity"]);
        Assert.Equal(1, (int)lease["spec"]!["leaseTransitions"]!);
        await candidate.Stop.CancelAsync();
        await candidate.Run;
    }

    [Fact]
    public async Task A_leader_whose_lease_was_taken_stops_leading_at_once()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var candidate = Candidate(Elector(live, "a"), new ConcurrentLeaders());
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);

        var taken = Stopwatch.StartNew();
        live.Api.Store.Update(KnownResources.Leases, "default", "test-leader", l => l["spec"]!["holderIdentity"] = "usurper");

        Assert.True(await candidate.Run.WaitAsync(LiveOperator.Timeout));
        Assert.True(candidate.Stopped.Task.IsCompleted);
        Assert.True(taken.Elapsed < TimeSpan.FromSeconds(1), $"stopped after {taken.Elapsed}");
    }

    [Fact]
    public async Task A_leader_that_cannot_renew_stops_before_its_lease_could_expire()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var candidate = Candidate(Elector(live, "a"), new ConcurrentLeaders());
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);
        await Task.Delay(300);

        var outage = Stopwatch.StartNew();
        live.Api.FailNext(100_000, 503, r => r.Path.Contains("/leases/", StringComparison.Ordinal));
        await candidate.Stopped.Task.WaitAsync(LiveOperator.Timeout);
        var stoppedAfter = outage.Elapsed;

        Assert.True(await candidate.Run);
        // Others may take over LeaseDuration after the last renewal, which was at most one retry period before the outage.
        Assert.True(stoppedAfter < LeaseDuration - TimeSpan.FromMilliseconds(200), $"stopped {stoppedAfter} into the outage");
        live.Api.Faults.Clear();
    }

    [Fact]
    public async Task Two_operator_replicas_only_the_leader_reconciles_and_the_standby_takes_over()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var options = new OperatorOptions
        {
            LeaderElect = true,
            LeaderElectionNamespace = "default",
            LeaderElectionTimings = (LeaseDuration, TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(200)),
        };
        var one = await live.StartReplicaAsync(options);
        var two = await live.StartReplicaAsync(options);
        static bool Started(System.Collections.Concurrent.ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel, string, string Message)> logs) =>
            logs.Any(l => l.Message.StartsWith("Controller for UserApi started", StringComparison.Ordinal));

        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, "userapi-sample", _ => true);
        var (leader, standby) = Started(one.Logs) ? (one, two) : (two, one);
        Assert.True(Started(leader.Logs));
        Assert.False(Started(standby.Logs));
        Assert.DoesNotContain(standby.Logs, l => l.Message.StartsWith("Reconciled", StringComparison.Ordinal));
        Assert.True(standby.Host.Services.GetRequiredService<ControllerManager>().HasSynced, "the standby keeps a warm cache");

        await leader.Host.StopAsync();
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {replicas: 2}\n");

        await live.WaitForAsync(KnownResources.Deployments, "userapi-sample", d => (int)d["spec"]!["replicas"]! == 2);
        Assert.True(Started(standby.Logs));
        Assert.Contains(live.Events(), e => (string?)e["reason"] == "LeaderElection");
    }

    private sealed class ConcurrentLeaders
    {
        private int _current;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public void Enter()
        {
            var now = Interlocked.Increment(ref _current);
            int max;
            while (now > (max = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, max) != max)
            {
            }
        }

        public void Leave() => Interlocked.Decrement(ref _current);
    }
}
