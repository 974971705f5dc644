namespace UserApiOperator.Deploy.Tests;

/// <summary>Paths in the repository the tests run from.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The directory that holds <c>UserApiOperator.sln</c>.</summary>
    public static string Root => RootPath.Value;

    /// <summary>A path under the repository root, given with forward slashes.</summary>
    /// <param name="relative">For example <c>config/default</c>.</param>
    /// <returns>The absolute path.</returns>
    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no UserApiOperator.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }
}
