using System.Text.Json.Nodes;
using KubeApiFake;
using static UserApiOperator.Tests.Live.LeaderElectionTests;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// Leader election through connection resets, as client-go's elector survives them: a renewal that
/// fails is retried until the renew deadline, a failure while campaigning is retried for ever, and
/// a leader that has lost stops writing the Lease at once. Each fault is put on the one request it is
/// about (the fake resets that request's connection), not timed against the election's loop.
/// </summary>
public sealed class LeaderElectionFaultTests
{
    [Fact]
    public async Task A_connection_reset_during_a_renewal_keeps_the_leader()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var candidate = Candidate(Elector(live, "a"), new ConcurrentLeaders());
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);

        using (ResetOnce(live, r => r.Method == "PUT" && IsLease(r)))
        {
            await live.Api.WaitForRequestAsync(r => r.Method == "PUT" && IsLease(r) && r.StatusCode == 0, LiveOperator.Timeout);
        }

        var failedAt = DateTimeOffset.UtcNow;
        // The next renewal, a retry period later, succeeds; the leader never stopped.
        await live.Api.WaitForAsync(() => LeaseWrites(live, "a").Any(r => r.StatusCode == 200 && r.Timestamp > failedAt), LiveOperator.Timeout);
        Assert.False(candidate.Stopped.Task.IsCompleted, "the leader stopped after one reset renewal");
        Assert.False(candidate.Run.IsCompleted);
        await candidate.Stop.CancelAsync();
        Assert.False(await candidate.Run);
    }

    [Fact]
    public async Task A_connection_reset_while_campaigning_keeps_the_standby_campaigning()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        PutLease(live, holder: "other", durationSeconds: 3600);
        var candidate = Candidate(Elector(live, "b"), new ConcurrentLeaders());

        using (ResetOnce(live, r => r.Method == "GET" && IsLease(r)))
        {
            await live.Api.WaitForRequestAsync(r => r.Method == "GET" && IsLease(r) && r.StatusCode == 0, LiveOperator.Timeout);
        }

        var failedAt = DateTimeOffset.UtcNow;
        await live.Api.WaitForRequestAsync(r => r.Method == "GET" && IsLease(r) && r.StatusCode == 200 && r.Timestamp > failedAt, LiveOperator.Timeout);
        Assert.False(candidate.Run.IsCompleted, $"the candidate stopped campaigning: {candidate.Run.Exception?.InnerException?.Message}");

        // The holder goes away (released): the candidate that kept campaigning takes over.
        live.Api.Store.Update(KnownResources.Leases, "default", LeaseName, l => l["spec"]!["holderIdentity"] = "");
        await candidate.Leading.Task.WaitAsync(LiveOperator.Timeout);
        await candidate.Stop.CancelAsync();
        Assert.False(await candidate.Run);
    }

    [Fact]
    public async Task A_leader_that_lost_its_lease_by_the_renew_deadline_writes_it_no_more()
    {
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        var a = Candidate(Elector(live, "a"), new ConcurrentLeaders());
        await a.Leading.Task.WaitAsync(LiveOperator.Timeout);

        // Every Lease request fails until "a" has given up at its renew deadline.
        live.Api.FailNext(100_000, 503, IsLease);
        Assert.True(await a.Run.WaitAsync(LiveOperator.Timeout));
        var lostAt = DateTimeOffset.UtcNow;
        live.Api.Faults.Clear();

        // A standby that campaigns from now on takes the Lease once it expires, and renews it. Had the
        // lost leader kept renewing in the background, the Lease would name it again meanwhile.
        var b = Candidate(Elector(live, "b"), new ConcurrentLeaders());
        await b.Leading.Task.WaitAsync(LeaseDuration + LiveOperator.Timeout);
        var renewals = LeaseWrites(live, "b").Count;
        await live.Api.WaitForAsync(() => LeaseWrites(live, "b").Count >= renewals + 2, LiveOperator.Timeout);

        Assert.DoesNotContain(LeaseWrites(live, "a"), r => r.Timestamp > lostAt);
        await b.Stop.CancelAsync();
        await b.Run;
    }

    private static bool IsLease(RecordedRequest r) => r.Path.EndsWith($"/leases/{LeaseName}", StringComparison.Ordinal);

    /// <summary>Resets the connection of the first request matching <paramref name="match"/> from now on, and only that one.</summary>
    private static IDisposable ResetOnce(LiveOperator live, Func<RecordedRequest, bool> match)
    {
        var taken = 0;
        return live.Api.Faults.CutOff(r => match(r) && Interlocked.Exchange(ref taken, 1) == 0);
    }

    private static void PutLease(LiveOperator live, string holder, int durationSeconds)
    {
        var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        live.Api.Store.Put(KnownResources.Leases, new JsonObject
        {
            ["apiVersion"] = "coordination.k8s.io/v1",
            ["kind"] = "Lease",
            ["metadata"] = new JsonObject { ["name"] = LeaseName, ["namespace"] = "default" },
            ["spec"] = new JsonObject { ["holderIdentity"] = holder, ["leaseDurationSeconds"] = durationSeconds, ["acquireTime"] = now, ["renewTime"] = now, ["leaseTransitions"] = 0 },
        });
    }
}
