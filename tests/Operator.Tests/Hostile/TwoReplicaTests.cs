using KubeApiFake;

namespace UserApiOperator.Tests.Hostile;

/// <summary>
/// Case 5: two replicas with <c>--leader-elect</c>, each as its own ServiceAccount (bound to the same
/// roles) so the fake's request log tells their writes apart. Never two leaders writing at once;
/// takeover within the lease duration (15 s) plus retry periods; no change lost.
/// </summary>
/// <remarks>
/// As in client-go (tools/leaderelection/leaderelection.go, <c>tryAcquireOrRenew</c>), a candidate
/// counts the lease duration from when it <em>observed</em> the holder's last renewal, which its
/// polling every retry period (2 s, jittered by up to 20 %) sees up to one period late, and acquires at
/// its next poll after expiry: from the leader's last renewal (at or before its loss) that is at most
/// 15 s + 2 × 2.4 s.
/// </remarks>
[Collection(HostileCollection.Name)]
public sealed class TwoReplicaTests
{
    private const string LeaseName = "userapi-operator-leader";
    private static readonly TimeSpan Takeover = TimeSpan.FromSeconds(15 + (2 * 2.4));

    [Fact]
    public async Task The_leader_killed_with_SIGKILL_the_standby_takes_over_and_applies_the_change()
    {
        await using var world = await HostileWorld.StartAsync();
        var (a, b) = await StartPairAsync(world);

        a.Kill();
        var killed = DateTimeOffset.UtcNow;
        await world.ApplyUserApiAsync("one", replicas: 2); // made during the takeover

        await WaitForHolderAsync(world, b, TimeSpan.FromSeconds(40), a);
        var tookOver = DateTimeOffset.UtcNow - killed;
        Assert.True(tookOver <= Takeover + TimeSpan.FromSeconds(1), $"takeover took {tookOver.TotalSeconds:0.0} s");
        await world.WaitReconciledAsync("one", TimeSpan.FromSeconds(15), b);
        AssertOneWriterAtATime(world, a, b);
    }

    [Fact]
    public async Task The_leader_cut_off_while_running_stops_writing_and_the_standby_takes_over()
    {
        await using var world = await HostileWorld.StartAsync();
        var (a, b) = await StartPairAsync(world);

        a.Proxy.Mode = ProxyMode.Hang; // a partition: a's requests go nowhere, b's are served
        var cut = DateTimeOffset.UtcNow;
        await world.ApplyUserApiAsync("one", replicas: 2);
        await WaitForHolderAsync(world, b, TimeSpan.FromSeconds(40), a);
        var tookOver = DateTimeOffset.UtcNow - cut;
        Assert.True(tookOver <= Takeover + TimeSpan.FromSeconds(1), $"takeover took {tookOver.TotalSeconds:0.0} s");
        await world.WaitReconciledAsync("one", TimeSpan.FromSeconds(15), b);

        // The partition heals: whatever a still had in mind must not reach the server as a second leader.
        a.Proxy.Mode = ProxyMode.Forward;
        await world.ApplyUserApiAsync("one", replicas: 3);
        await world.WaitReconciledAsync("one", TimeSpan.FromSeconds(15), b);
        await DeletionRaceTests.WaitQuietAsync(world, b.User, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
        AssertOneWriterAtATime(world, a, b);
        Assert.Equal(b.Name, Holder(world)?.Split('_')[0]);
    }

    private static async Task<(OperatorProcess A, OperatorProcess B)> StartPairAsync(HostileWorld world)
    {
        var (ns, _) = world.OperatorAccount;
        string[] args = ["--leader-elect", "--leader-election-namespace", ns];
        var a = world.StartOperator("replica-a", args);
        await WaitForHolderAsync(world, a, TimeSpan.FromSeconds(30));
        var b = world.StartOperator("replica-b", args, await world.CloneOperatorAccountAsync("userapi-operator-standby"));
        await b.WaitForLineAsync(l => l.Message.Contains("waiting to lead", StringComparison.Ordinal), TimeSpan.FromSeconds(30)); // b campaigns
        await world.ApplyUserApiAsync("one");
        await world.WaitReconciledAsync("one", TimeSpan.FromSeconds(30), a, b);
        Assert.NotEmpty(world.ReconcileWrites(a.User));
        Assert.Empty(world.ReconcileWrites(b.User));
        return (a, b);
    }

    private static string? Holder(HostileWorld world) =>
        (string?)world.Api.Store.Get(KnownResources.Leases, world.OperatorAccount.Namespace, LeaseName)?["spec"]?["holderIdentity"];

    private static async Task WaitForHolderAsync(HostileWorld world, OperatorProcess replica, TimeSpan timeout, params OperatorProcess[] others)
    {
        try
        {
            await world.Api.WaitForAsync(() => Holder(world)?.StartsWith(replica.Name + "_", StringComparison.Ordinal) == true, timeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{replica.Name} did not hold the Lease within {timeout.TotalSeconds:0} s (holder: {Holder(world)})\n"
                + string.Join("\n", others.Append(replica).Select(o => $"--- {o.Name}\n{o.Transcript}")), e);
        }
    }

    /// <summary>The reconcile writes, in server order, come from a, then from b: never interleaved.</summary>
    private static void AssertOneWriterAtATime(HostileWorld world, OperatorProcess a, OperatorProcess b)
    {
        var writes = world.Api.Requests
            .Where(r => r.IsWrite && (r.User?.Name == a.User || r.User?.Name == b.User)
                && !r.Path.Contains("/leases", StringComparison.Ordinal) && !r.Path.Contains("/events", StringComparison.Ordinal))
            .Select(r => (r.Timestamp, Who: r.User!.Name == a.User ? "a" : "b", r.Method, r.Path))
            .ToList();
        var firstB = writes.FindIndex(w => w.Who == "b");
        Assert.True(firstB > 0, "b never wrote");
        var late = writes.Skip(firstB).Where(w => w.Who == "a").ToList();
        Assert.True(late.Count == 0, $"a wrote after b took over:\n{string.Join("\n", late.Select(w => $"{w.Timestamp:HH:mm:ss.fff} {w.Method} {w.Path}"))}\n"
            + $"first write of b: {writes[firstB].Timestamp:HH:mm:ss.fff} {writes[firstB].Method} {writes[firstB].Path}");
    }
}
