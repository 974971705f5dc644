using KubeApiFake;

namespace UserApiOperator.Tests.Hostile;

/// <summary>
/// Case 6: connection resets meeting leader election, in the real process with the shipped timings
/// (lease 15 s, renew deadline 10 s, retry 2 s). Each reset is put on the one request it is about (the
/// fake resets that request's connection), not timed against the election's loop: a reset renewal
/// keeps the leader, a reset while campaigning keeps the standby campaigning, and a leader that has
/// lost its Lease writes it no more, but to release it.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class LeaderResetTests
{
    private const string LeaseName = "userapi-operator-leader";

    [Fact]
    public async Task A_reset_during_a_renewal_keeps_the_leader_leading()
    {
        await using var world = await HostileWorld.StartAsync();
        var a = world.StartOperator("reset-a", LeaderArgs(world));
        await a.WaitForLineAsync(l => l.Message.Contains("became leader", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        using (ResetOnce(world, r => r.User?.Name == a.User && r.Method == "PUT" && IsLease(r)))
        {
            await world.Api.WaitForRequestAsync(r => r.User?.Name == a.User && r.Method == "PUT" && IsLease(r) && r.StatusCode == 0, TimeSpan.FromSeconds(30));
        }

        var reset = DateTimeOffset.UtcNow;
        // Two renewals after the reset, each a retry period apart: it went on leading throughout.
        await world.Api.WaitForAsync(() => Renewals(world, a, reset) >= 2, TimeSpan.FromSeconds(30));
        Assert.False(a.HasExited, a.Transcript);
        Assert.DoesNotContain(a.Lines, l => l.Message.Contains("lost the Lease", StringComparison.Ordinal));
        await world.ApplyUserApiAsync("web");
        await world.WaitReconciledAsync("web", TimeSpan.FromSeconds(30), a);
    }

    [Fact]
    public async Task A_reset_while_campaigning_keeps_the_standby_alive_and_campaigning()
    {
        await using var world = await HostileWorld.StartAsync();
        var a = world.StartOperator("reset-leader", LeaderArgs(world));
        await a.WaitForLineAsync(l => l.Message.Contains("became leader", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var b = world.StartOperator("reset-standby", LeaderArgs(world), await world.CloneOperatorAccountAsync("userapi-operator-standby"));
        await b.WaitForLineAsync(l => l.Message.Contains("waiting to lead", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        using (ResetOnce(world, r => r.User?.Name == b.User && r.Method == "GET" && IsLease(r)))
        {
            await world.Api.WaitForRequestAsync(r => r.User?.Name == b.User && r.Method == "GET" && IsLease(r) && r.StatusCode == 0, TimeSpan.FromSeconds(30));
        }

        var reset = DateTimeOffset.UtcNow;
        await world.Api.WaitForRequestAsync(r => r.User?.Name == b.User && r.Method == "GET" && IsLease(r) && r.StatusCode == 200 && r.Timestamp > reset, TimeSpan.FromSeconds(30));
        Assert.False(b.HasExited, b.Transcript);

        // And it still takes over when the leader goes (SIGTERM releases the Lease).
        await a.StopAsync(TimeSpan.FromSeconds(30));
        await b.WaitForLineAsync(l => l.Message.Contains("became leader", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_leader_cut_off_past_its_renew_deadline_stops_and_writes_the_Lease_no_more()
    {
        await using var world = await HostileWorld.StartAsync();
        var a = world.StartOperator("lost-leader", LeaderArgs(world));
        await a.WaitForLineAsync(l => l.Message.Contains("became leader", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        // Every request of a is reset (a firewall rejecting it) until it has given up its leadership.
        var cut = world.Api.Faults.CutOff(a.User);
        var lost = await a.WaitForLineAsync(l => l.Message.Contains("lost the Lease", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        cut.Dispose();

        // It exits (code 1) so that Kubernetes restarts it as a standby; until then, no write that holds
        // the Lease. One write may come, the release (holder cleared), as client-go's ReleaseOnCancel
        // does: it happens when the cut is lifted before the release's retry period is over.
        Assert.Equal(1, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var writes = world.Api.Requests.Where(r => r.User?.Name == a.User && r.IsWrite && IsLease(r) && r.StatusCode is >= 200 and < 300 && r.Timestamp > lost.At).ToList();
        Assert.All(writes, r => Assert.True(HolderOf(r) == "", $"{r.Method} {r.Path} after the loss wrote holder '{HolderOf(r)}'"));
    }

    /// <summary>The <c>spec.holderIdentity</c> a Lease write sent (null when absent).</summary>
    private static string? HolderOf(RecordedRequest r) =>
        r.Body is { } body ? (string?)System.Text.Json.Nodes.JsonNode.Parse(body)?["spec"]?["holderIdentity"] : null;

    private static string[] LeaderArgs(HostileWorld world) => ["--leader-elect", "--leader-election-namespace", world.OperatorAccount.Namespace];

    private static bool IsLease(RecordedRequest r) => r.Path.EndsWith($"/leases/{LeaseName}", StringComparison.Ordinal);

    private static int Renewals(HostileWorld world, OperatorProcess replica, DateTimeOffset after) =>
        world.Api.Requests.Count(r => r.User?.Name == replica.User && r.Method == "PUT" && IsLease(r) && r.StatusCode == 200 && r.Timestamp > after);

    /// <summary>Resets the connection of the first request matching <paramref name="match"/> from now on, and only that one.</summary>
    private static IDisposable ResetOnce(HostileWorld world, Func<RecordedRequest, bool> match)
    {
        var taken = 0;
        return world.Api.Faults.CutOff(r => match(r) && Interlocked.Exchange(ref taken, 1) == 0);
    }
}
