namespace UserApiOperator.Tests.Hostile;

/// <summary>
/// Case 3: the API server misbehaving while the operator runs. After each fault a change made during
/// or after it is reconciled, and a fault with no change behind it leads to no write.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class ApiFaultTests
{
    private static readonly TimeSpan Recover = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_500_storm_then_watches_cut_mid_stream_the_change_is_reconciled_and_nothing_is_rewritten()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = await StartSettledAsync(world);

        // 500 storm: the next 10 requests of the operator fail; a change made meanwhile gets through.
        var served500 = world.Api.Requests.Count(r => r.User?.Name == op.User && r.StatusCode == 500);
        world.Api.FailNext(10, 500, r => r.User?.Name == op.User);
        await world.ApplyUserApiAsync("web", replicas: 2);
        await world.WaitReconciledAsync("web", Recover, op);
        Assert.Equal(0, world.Api.Faults.Pending);
        Assert.Equal(served500 + 10, world.Api.Requests.Count(r => r.User?.Name == op.User && r.StatusCode == 500));
        await DeletionRaceTests.WaitQuietAsync(world, op.User, Quiet, Recover);

        // Watches cut mid-stream: they resume; with nothing changed, nothing is written.
        await CutWithoutChangeAsync(world, op, () => world.Api.DropWatches());
        await world.ApplyUserApiAsync("web", replicas: 3);
        await world.WaitReconciledAsync("web", Recover, op);
        Assert.Empty(world.Api.ServerErrors);
    }

    [Fact]
    public async Task A_410_on_resume_and_on_relist_the_change_is_reconciled_and_nothing_is_rewritten()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = await StartSettledAsync(world);

        // 410 on resume: history expired past every watch's version (a write no watch sees moves the
        // server's version beyond the last bookmark), then the watches break, so every resume is
        // answered Expired.
        await CutWithoutChangeAsync(world, op, () =>
        {
            MoveVersionPastEveryWatch(world);
            world.Api.ExpireHistory();
            world.Api.DropWatches();
        });
        await world.ApplyUserApiAsync("web", replicas: 2);
        await world.WaitReconciledAsync("web", Recover, op);
        // Every resumed watch was answered with a 410 ERROR event, and each informer listed again (the
        // process's log comes through its stdout, a moment after the fact).
        await op.WaitForLineAsync(_ => op.Lines.Count(l => l.Message.Contains("expired at resource version", StringComparison.Ordinal) && l.Message.Contains("listing again", StringComparison.Ordinal)) >= 5, Recover);
        await DeletionRaceTests.WaitQuietAsync(world, op.User, Quiet, Recover);

        // 410 on the relist that follows as well (a list answered Expired, as for a stale continue token).
        var served410 = world.Api.Requests.Count(r => r.User?.Name == op.User && r.StatusCode == 410);
        world.Api.FailNext(5, 410, r => r.User?.Name == op.User && r.Method == "GET" && !r.IsWatch);
        MoveVersionPastEveryWatch(world);
        world.Api.ExpireHistory();
        world.Api.DropWatches();
        await world.ApplyUserApiAsync("web", replicas: 3); // made during the fault
        await world.WaitReconciledAsync("web", Recover, op);
        Assert.Equal(0, world.Api.Faults.Pending);
        Assert.Equal(served410 + 5, world.Api.Requests.Count(r => r.User?.Name == op.User && r.StatusCode == 410));
        Assert.Empty(world.Api.ServerErrors);
    }

    [Fact]
    public async Task Responses_that_never_come_the_change_made_meanwhile_is_reconciled_once_they_do()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = await StartSettledAsync(world);

        // The proxy accepts and never answers (a stuck server or a black-holed route), for 20 s.
        op.Proxy.Mode = ProxyMode.Hang;
        await world.ApplyUserApiAsync("web", replicas: 2);
        await Task.Delay(TimeSpan.FromSeconds(20)); // the length of the fault, not a wait for an outcome
        Assert.False(world.IsReconciled("web"), "reconciled through a proxy that answers nothing?");
        op.Proxy.Mode = ProxyMode.Forward;
        await world.WaitReconciledAsync("web", Recover, op);
        Assert.False(op.HasExited);
        Assert.Empty(world.Api.ServerErrors);
    }

    /// <summary>A write of a kind the operator does not watch: the server's resourceVersion moves past every watch's.</summary>
    private static void MoveVersionPastEveryWatch(HostileWorld world) =>
        world.Api.Store.Put(KubeApiFake.KnownResources.ConfigMaps, new System.Text.Json.Nodes.JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["name"] = $"unwatched-{Guid.NewGuid():N}", ["namespace"] = HostileWorld.Ns },
        });

    /// <summary>The operator running with UserApi "web" reconciled and Ready, and quiet.</summary>
    private static async Task<OperatorProcess> StartSettledAsync(HostileWorld world)
    {
        var op = world.StartOperator("faults");
        await world.ApplyUserApiAsync("web");
        await world.WaitReconciledAsync("web", TimeSpan.FromSeconds(30), op);
        world.MarkAvailable("web");
        await world.Api.WaitForObjectAsync(HostileWorld.UserApis, HostileWorld.Ns, "web",
            u => u["status"]?["readyReplicas"]?.GetValue<int>() == 1, TimeSpan.FromSeconds(30));
        await DeletionRaceTests.WaitQuietAsync(world, op.User, Quiet, TimeSpan.FromSeconds(30));
        return op;
    }

    /// <summary>Injects a fault with no change behind it; the watches come back and nothing is written.</summary>
    private static async Task CutWithoutChangeAsync(HostileWorld world, OperatorProcess op, Action fault)
    {
        var watchesBefore = world.Api.Requests.Count(r => r.IsWatch && r.User?.Name == op.User);
        var at = DateTimeOffset.UtcNow;
        fault();
        // Every informer watches again (one new watch request per watched kind: UserApi and four owned kinds).
        await world.Api.WaitForAsync(() => world.Api.Requests.Count(r => r.IsWatch && r.User?.Name == op.User && r.StatusCode == 200) >= watchesBefore + 5, Recover);
        await Task.Delay(Quiet); // window in which a needless write would show
        var writes = world.ReconcileWrites(op.User).Where(r => r.Timestamp >= at).ToList();
        Assert.True(writes.Count == 0, "written again with nothing changed:\n" + string.Join("\n", writes.Select(r => $"{r.Method} {r.Path}")) + "\n" + op.Transcript);
    }
}
