namespace UserApiOperator.Tests.Hostile;

/// <summary>Case 4: UserApis deleted while being reconciled, and created and deleted in a tight loop.</summary>
[Collection(HostileCollection.Name)]
public sealed class DeletionRaceTests
{
    [Fact]
    public async Task No_child_is_left_behind_or_made_for_a_deleted_owner()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = world.StartOperator("deletion-race");
        await op.WaitForReadyzAsync(200, TimeSpan.FromSeconds(30));

        // Deleted during its reconcile: as soon as the operator's first write for it arrives.
        await world.ApplyUserApiAsync("doomed", replicas: 2);
        await world.Api.WaitForRequestAsync(r => r.IsWrite && r.User?.Name == op.User && r.Path.Contains("/doomed", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.True(world.Api.Store.Delete(HostileWorld.UserApis, HostileWorld.Ns, "doomed"));

        // Created and deleted 20 times in a row, each time a new UID.
        for (var i = 0; i < 20; i++)
        {
            await world.ApplyUserApiAsync("flicker");
            await Task.Delay(i * 10); // from "before the operator sees it" to "in the middle of its reconcile"
            Assert.True(world.Api.Store.Delete(HostileWorld.UserApis, HostileWorld.Ns, "flicker"));
        }

        // Settle: a later UserApi is reconciled, then nothing is written for 3 s.
        await world.ApplyUserApiAsync("survivor");
        await world.WaitReconciledAsync("survivor", TimeSpan.FromSeconds(30), op);
        await WaitQuietAsync(world, op.User, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));

        var orphans = world.Orphans();
        Assert.True(orphans.Count == 0, $"children of deleted UserApis:\n{string.Join("\n", orphans)}\n{op.Transcript}");
        var survivorUid = (string)world.UserApi("survivor")!["metadata"]!["uid"]!;
        // One replica: Secret, Deployment, Service, Ingress and NetworkPolicy (no budget below two replicas, no autoscaler).
        Assert.Equal(["deployments", "ingresses", "networkpolicies", "secrets", "services"],
            world.Children().Where(c => c.OwnerUid == survivorUid).Select(c => c.Kind).Order(StringComparer.Ordinal));
        Assert.False(op.HasExited);
        Assert.Empty(world.Api.ServerErrors);
    }

    /// <summary>Waits until <paramref name="user"/> has made no reconcile write for <paramref name="quiet"/>.</summary>
    internal static async Task WaitQuietAsync(HostileWorld world, string user, TimeSpan quiet, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var last = world.ReconcileWrites(user).Select(r => r.Timestamp).DefaultIfEmpty(DateTimeOffset.MinValue).Max();
            if (DateTimeOffset.UtcNow - last >= quiet)
            {
                return;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{user} kept writing for {timeout.TotalSeconds:0} s");
    }
}
