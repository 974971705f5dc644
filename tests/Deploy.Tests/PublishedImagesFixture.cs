namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// Replays the build stages of <c>Dockerfile.operator</c> and <c>Dockerfile.api</c> once for the
/// tests that share it (restore and publish take tens of seconds per project).
/// </summary>
public sealed class PublishedImagesFixture : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);

    /// <summary>The operator image's build.</summary>
    public ImageBuild Operator { get; private set; } = null!;

    /// <summary>The UserApi image's build.</summary>
    public ImageBuild Api { get; private set; } = null!;

    /// <summary>Both, by Dockerfile name.</summary>
    /// <param name="dockerfile"><c>Dockerfile.operator</c> or <c>Dockerfile.api</c>.</param>
    /// <returns>The build.</returns>
    public ImageBuild this[string dockerfile] => dockerfile switch
    {
        "Dockerfile.operator" => Operator,
        "Dockerfile.api" => Api,
        _ => throw new ArgumentOutOfRangeException(nameof(dockerfile), dockerfile, "no such image"),
    };

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        // One after the other: two parallel builds gain nothing on two cores.
        Operator = await ImageBuild.RunAsync("Dockerfile.operator", CommandTimeout);
        Api = await ImageBuild.RunAsync("Dockerfile.api", CommandTimeout);
    }

    /// <inheritdoc/>
    public Task DisposeAsync()
    {
        Operator?.Delete();
        Api?.Delete();
        return Task.CompletedTask;
    }
}
