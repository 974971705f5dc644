using System.Diagnostics;
using System.Text.Json.Nodes;
using KubeApiFake;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using UserApiOperator.Hosting;
using k8s;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Manager;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.LeaderElection;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// Leader election on a Lease of the fake API server, with short timings (retry 0.2 s) and a lease and
/// renew deadline long enough (6 s, 3 s) that what happens at once and what waits them out stay
/// seconds apart on a busy machine: each test tells the two apart, never a tight time window.
/// </summary>
public sealed class LeaderElectionTests
{
    internal static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(6);
    internal static readonly TimeSpan RenewDeadline = TimeSpan.FromSeconds(3);
    internal const string LeaseName = "test-leader";

    internal static LeaderElectionOptions Fast(string identity) => new()
    {
        LeaseName = LeaseName,
        Namespace = "default",
        Identity = identity,
        LeaseDuration = LeaseDuration,
        RenewDeadline = RenewDeadline,
        RetryPeriod = TimeSpan.FromMilliseconds(200),
    };

    internal static LeaseElector Elector(LiveOperator live, string identity, LeaderElectionOptions? options = null)
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(live.KubeconfigPath));
        return new LeaseElector(client, new EventRecorder(client, "userapi-operator", identity, TimeProvider.System, NullLogger<EventRecorder>.Instance), options ?? Fast(identity), NullLogger<LeaseElector>.Instance);
    }

    /// <summary>The Lease writes (create, update) whose body names <paramref name="holder"/>, as the fake logged them.</summary>
    internal static List<RecordedRequest> LeaseWrites(LiveOperator live, string holder) =>
        live.Api.Requests.Where(r => r.IsWrite && r.Path.Contains("/leases", StringComparison.Ordinal)
            && r.Body?.Contains($"\"holderIdentity\":\"{holder}\"", StringComparison.Ordinal) == true).ToList();

    /// <summary>Runs a candidate whose leading work marks itself in <paramref name="leaders"/> until cancelled.</summary>
    internal static (Task<bool> Run, CancellationTokenSource Stop, TaskCompletionSource Leading, TaskCompletionSource Stopped) Candidate(LeaseElector elector, ConcurrentLeaders leaders)
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
        var leaderName = first == a.Leading.Task ? "a" : "b";
        // Three renewals by the leader: the standby tried several times meanwhile, and keeps waiting.
        var renewals = LeaseWrites(live, leaderName).Count;
        await live.Api.WaitForAsync(() => LeaseWrites(live, leaderName).Count >= renewals + 3, LiveOperator.Timeout);
        Assert.False(standby.Leading.Task.IsCompleted);

        var handover = Stopwatch.StartNew();
        await leader.Stop.CancelAsync();
        Assert.False(await leader.Run);
        await standby.Leading.Task.WaitAsync(LiveOperator.Timeout);

        // At the standby's next retry, not after waiting out the lease.
        Assert.True(handover.Elapsed < LeaseDuration, $"released lease taken over in {handover.Elapsed}");
        Assert.Contains(LeaseWrites(live, ""), r => r.StatusCode == 200); // The leader released it.
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

        // Not before the dead holder's lease (2 s) ran out by the candidate's clock.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2) * 0.9, $"took over after {clock.Elapsed}");
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
        // At its next renewal, not at the renew deadline.
        Assert.True(taken.Elapsed < RenewDeadline, $"stopped after {taken.Elapsed}");
    }

    [Fact]
    public async Task A_leader_that_cannot_renew_stops_before_its_lease_could_expire()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var candidate = Candidate(Elector(live, "a"), new ConcurrentLeaders());
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);
        var renewals = LeaseWrites(live, "a").Count;
        await live.Api.WaitForAsync(() => LeaseWrites(live, "a").Count > renewals, LiveOperator.Timeout); // Renewing.

        live.Api.FailNext(100_000, 503, r => r.Path.Contains("/leases/", StringComparison.Ordinal));
        await candidate.Stopped.Task.WaitAsync(LiveOperator.Timeout);
        var stopped = DateTimeOffset.UtcNow;

        Assert.True(await candidate.Run);
        // Others may take over a lease duration after the last renewal they saw.
        var lastRenewal = LeaseWrites(live, "a").Last(r => r.StatusCode == 200).Timestamp;
        Assert.True(stopped - lastRenewal < LeaseDuration, $"stopped {stopped - lastRenewal} after the last renewal");
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
        // It queues nothing either: a standby's queue would otherwise gain every key for ever.
        Assert.Equal(0, standby.Host.Services.GetRequiredService<IController>().QueueDepth);

        await leader.Host.StopAsync();
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {replicas: 2}\n");

        await live.WaitForAsync(KnownResources.Deployments, "userapi-sample", d => (int)d["spec"]!["replicas"]! == 2);
        Assert.True(Started(standby.Logs));
        var standbyIdentity = standby.Host.Services.GetRequiredService<LeaseElector>().Identity;
        Assert.Contains(live.Events(), e => (string?)e["reason"] == "LeaderElection" && (string?)e["message"] == $"{standbyIdentity} became leader");
    }

    internal sealed class ConcurrentLeaders
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
