namespace UserApiOperator.Tests.Support;

/// <summary>The operator's own build output (src/Operator/bin/&lt;configuration&gt;/net10.0), as users run it.</summary>
internal static class OperatorBinary
{
    /// <summary>Path of <c>userapi-operator.dll</c> built in the same configuration as the tests.</summary>
    public static string Dll { get; } = Find();

    private static string Find()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<configuration>/net10.0
        var path = Repository.PathOf(Path.Combine("src", "Operator", "bin", configuration, "net10.0", "userapi-operator.dll"));
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/Operator ({configuration}) first: {path} is missing.", path);
    }
}
