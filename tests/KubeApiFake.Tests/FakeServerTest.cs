namespace KubeApiFake.Tests;

/// <summary>Starts one fake server per test (xunit makes a class instance per test).</summary>
public abstract class FakeServerTest : IAsyncLifetime
{
    protected FakeKubeApiServer Api { get; private set; } = null!;

    protected HttpClient Http { get; private set; } = null!;

    protected virtual FakeKubeApiServerOptions CreateOptions() => new();

    public async Task InitializeAsync()
    {
        Api = await FakeKubeApiServer.StartAsync(CreateOptions());
        Http = Api.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Api.DisposeAsync();
    }
}
