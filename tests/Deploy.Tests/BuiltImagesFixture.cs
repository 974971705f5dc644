using System.Text.Json.Nodes;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// The images that <c>hack/build-images.sh</c> builds, read from their OCI archives in
/// <c>.local/images</c> (or <c>$IMAGES_OUT</c>). When an archive is missing it runs the script for
/// the missing ones first: minutes on a fresh machine (about 3.5 here, the stand-in base images
/// included), seconds when only the archive is missing; nothing is built when all three exist (so
/// these tests read what the last build made, not necessarily the current sources). Needs root
/// then, as the script does.
/// </summary>
public sealed class BuiltImagesFixture : IAsyncLifetime
{
    /// <summary>The images: key (archive name without <c>.tar</c>) and the name it is built under.</summary>
    public static readonly IReadOnlyDictionary<string, (string Name, string Dockerfile)> Images = new Dictionary<string, (string, string)>
    {
        ["userapi"] = ("userapi:latest", "Dockerfile.api"),
        ["userapi-operator"] = ("userapi-operator:latest", "Dockerfile.operator"),
        ["mysql-k8s"] = ("datascientest/mysql-k8s:1.0.0", "hack/local-cluster/mysql/Dockerfile"),
    };

    private readonly Dictionary<string, OciArchive> archives = [];

    /// <summary>Directory of the archives.</summary>
    public static string OutputDirectory => Environment.GetEnvironmentVariable("IMAGES_OUT") is { Length: > 0 } dir ? dir : Repository.PathOf(".local/images");

    /// <summary>Directory of the local image store (buildah's containers/storage and its driver file).</summary>
    public static string StoreDirectory => Environment.GetEnvironmentVariable("IMAGES_STORE") is { Length: > 0 } dir ? dir : Repository.PathOf(".local/containers");

    /// <summary>Why the images are not there (the build's transcript); null when they are.</summary>
    public string? Failure { get; private set; }

    /// <summary>The archive of an image.</summary>
    /// <param name="key"><c>userapi</c>, <c>userapi-operator</c> or <c>mysql-k8s</c>.</param>
    public OciArchive this[string key] => archives[key];

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var missing = Images.Keys.Where(k => !File.Exists(Path.Combine(OutputDirectory, k + ".tar"))).ToList();
        if (missing.Count > 0)
        {
            var build = await ProcessRunner.RunAsync(
                ProcessRunner.StartInfo("bash", [Repository.PathOf("hack/build-images.sh"), "--quiet", .. missing], Repository.Root),
                TimeSpan.FromMinutes(20));
            if (build.ExitCode != 0)
            {
                Failure = $"hack/build-images.sh {string.Join(' ', missing)} failed: {build.Transcript}";
                return;
            }
        }

        var loaded = await Task.WhenAll(Images.Keys.Select(k => Task.Run(() => (k, OciArchive.Load(Path.Combine(OutputDirectory, k + ".tar"))))));
        foreach (var (key, archive) in loaded)
        {
            archives[key] = archive;
        }
    }

    /// <inheritdoc/>
    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// <c>buildah inspect --type image NAME</c> on the local store: the image's OCI config
    /// (<c>OCIv1</c>) and manifest annotations (<c>ImageAnnotations</c>).
    /// </summary>
    /// <param name="name">Image name, for example <c>mcr.microsoft.com/dotnet/sdk:10.0</c>.</param>
    /// <returns>buildah's JSON.</returns>
    public static async Task<JsonNode> InspectStoredImageAsync(string name)
    {
        var store = StoreDirectory;
        var driver = File.ReadAllText(Path.Combine(store, "driver")).Trim();
        var result = await ProcessRunner.RunAsync(
            ProcessRunner.StartInfo("buildah", ["--root", Path.Combine(store, "storage"), "--runroot", Path.Combine(store, "run"), "--storage-driver", driver, "inspect", "--type", "image", name], Repository.Root),
            TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, result.Transcript);
        return JsonNode.Parse(result.Output)!;
    }
}
