namespace LocalCluster.Tests.Support;

/// <summary>The repository's root: the nearest directory above the test binaries that holds UserApiOperator.sln.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no UserApiOperator.sln above {AppContext.BaseDirectory}");
    }
}
