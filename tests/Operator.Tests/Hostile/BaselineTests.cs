namespace UserApiOperator.Tests.Hostile;

/// <summary>The calm before: as its own ServiceAccount with the shipped RBAC, the operator reconciles the sample to Ready.</summary>
[Collection(HostileCollection.Name)]
public sealed class BaselineTests
{
    [Fact]
    public async Task The_operator_reconciles_the_sample_to_Ready_as_its_service_account()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = world.StartOperator("baseline");
        await world.ApplySampleAsync();
        await world.WaitReconciledAsync("userapi-sample", TimeSpan.FromSeconds(30), op);
        world.MarkAvailable("userapi-sample");
        await world.Api.WaitForObjectAsync(HostileWorld.UserApis, HostileWorld.Ns, "userapi-sample",
            u => u["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true, TimeSpan.FromSeconds(30));
        await op.WaitForReadyzAsync(200, TimeSpan.FromSeconds(10));

        Assert.All(world.Api.Requests.Where(r => r.User?.Name == op.User), r => Assert.NotEqual(403, r.StatusCode));
        Assert.NotEmpty(world.ReconcileWrites(op.User));
        Assert.Empty(world.Api.ServerErrors);
    }
}
