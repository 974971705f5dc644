namespace UserApiOperator.Tests.Support;

/// <summary>Locates files of the repository from the test's output directory.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string File(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No UserApiOperator.sln above {AppContext.BaseDirectory}.");
    }
}
