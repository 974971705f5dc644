using System.Formats.Tar;
using System.Text.Json.Nodes;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// The images as <c>hack/build-images.sh</c> built them (issue 20, items 1 and 2), read from their
/// OCI archives the way a container runtime imports them: archives that <c>ctr images import</c>
/// (kind, minikube) names correctly, configs that say what the Dockerfiles say, the chiseled runtime
/// without shell or package manager, the database image's entry point and seed, and the stand-in
/// base images marked as such. About 10 s once the archives exist; building them first takes
/// minutes (see <see cref="BuiltImagesFixture"/>).
/// </summary>
public sealed class BuiltImageTests(BuiltImagesFixture images) : IClassFixture<BuiltImagesFixture>
{
    private const string StandInKey = "userapi.example.com/stand-in";
    private const string ChiseledBase = "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled";

    public static TheoryData<string> All => ["userapi", "userapi-operator", "mysql-k8s"];

    public static TheoryData<string> DotnetImages => ["userapi", "userapi-operator"];

    public static TheoryData<string> StandIns => ["debian:bookworm-slim", "mcr.microsoft.com/dotnet/sdk:10.0", ChiseledBase];

    [Theory]
    [MemberData(nameof(All))]
    public void Archive_is_an_OCI_layout_named_as_containerd_imports_it(string key)
    {
        var archive = Archive(key);
        Assert.Equal("1.0.0", archive.Layout["imageLayoutVersion"]?.GetValue<string>());
        Assert.Equal(2, archive.Index["schemaVersion"]?.GetValue<int>());
        var descriptor = Assert.Single(archive.Index["manifests"]!.AsArray())!;
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", descriptor["mediaType"]?.GetValue<string>());

        // containerd's importer (client/import.go, imageName) takes io.containerd.image.name as the
        // image's name, else org.opencontainers.image.ref.name; the kubelet asks for the full name.
        var (name, _) = BuiltImagesFixture.Images[key];
        var full = FullName(name);
        Assert.Equal(full, descriptor["annotations"]?["io.containerd.image.name"]?.GetValue<string>());
        Assert.Equal(full[(full.LastIndexOf(':') + 1)..], descriptor["annotations"]?["org.opencontainers.image.ref.name"]?.GetValue<string>());
        Assert.Equal("linux", descriptor["platform"]?["os"]?.GetValue<string>());
        Assert.Equal("amd64", descriptor["platform"]?["architecture"]?.GetValue<string>());

        // Docker's manifest.json (what `docker load` before Docker 25 reads) names the same blobs.
        var docker = Assert.Single(archive.DockerManifest!.AsArray())!;
        Assert.Equal(name, Assert.Single(docker["RepoTags"]!.AsArray())!.GetValue<string>());
        Assert.Equal(OciArchive.BlobPath(archive.ConfigDigest), docker["Config"]!.GetValue<string>());
        Assert.Equal(archive.Manifest["layers"]!.AsArray().Select(l => OciArchive.BlobPath(l!["digest"]!.GetValue<string>())), docker["Layers"]!.AsArray().Select(l => l!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Every_blob_is_present_with_its_digest_and_size(string key)
    {
        var archive = Archive(key);
        var descriptors = new List<JsonNode> { archive.Index["manifests"]![0]!, archive.Manifest["config"]! };
        descriptors.AddRange(archive.Manifest["layers"]!.AsArray().Select(l => l!));
        Assert.True(descriptors.Count >= 3, "a manifest, a config and at least one layer");
        foreach (var descriptor in descriptors)
        {
            var digest = descriptor["digest"]!.GetValue<string>();
            Assert.True(archive.Blobs.TryGetValue(digest, out var blob), $"{key}.tar lacks blob {digest}");
            Assert.Equal(digest, blob.Digest);
            Assert.Equal(descriptor["size"]!.GetValue<long>(), blob.Size);
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Config_is_what_the_Dockerfile_declares(string key)
    {
        var archive = Archive(key);
        var final = Dockerfile.Load(BuiltImagesFixture.Images[key].Dockerfile).Final;
        var config = archive.Config["config"]!;
        Assert.Equal("linux", archive.Config["os"]?.GetValue<string>());
        Assert.Equal("amd64", archive.Config["architecture"]?.GetValue<string>());

        // USER $APP_UID resolved to a number, as runAsNonRoot needs; no USER: root.
        var user = final.All("USER").LastOrDefault() is { } u ? final.Expand(u.Arguments.Trim()) : "";
        Assert.Equal(user, config["User"]?.GetValue<string>() ?? "");
        Assert.Equal(Exec(final, "ENTRYPOINT"), Strings(config["Entrypoint"]));
        // A Dockerfile that sets ENTRYPOINT without CMD clears the CMD of its base (Docker's rule).
        Assert.Equal(Exec(final, "CMD"), Strings(config["Cmd"]));
        Assert.Equal(final.Workdir, config["WorkingDir"]?.GetValue<string>() is { Length: > 0 } w ? w : "/");
        var exposed = final.All("EXPOSE").SelectMany(i => ShellWords.Split(i.Arguments)).Select(p => p.Contains('/') ? p : p + "/tcp").Order(StringComparer.Ordinal);
        Assert.Equal(exposed, (config["ExposedPorts"] as JsonObject ?? []).Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (name, value) in final.Environment)
        {
            Assert.True(archive.Environment.TryGetValue(name, out var actual) && actual == value, $"{key}: ENV {name}={value} of the Dockerfile is {(actual is null ? "missing" : $"\"{actual}\"")} in the image");
        }

        Assert.StartsWith("/usr/local/sbin:/usr/local/bin:", archive.Environment["PATH"], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(DotnetImages))]
    public void Dotnet_image_keeps_the_aspnet_images_contract(string key)
    {
        // dotnet/dotnet-docker src/runtime-deps, runtime and aspnet 10.0/noble-chiseled: ENV and user.
        var archive = Archive(key);
        var env = archive.Environment;
        Assert.Equal("1654", env["APP_UID"]);
        Assert.Equal("true", env["DOTNET_RUNNING_IN_CONTAINER"]);
        Assert.Equal("true", env["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"]);
        Assert.StartsWith("10.0.", env["DOTNET_VERSION"], StringComparison.Ordinal);
        Assert.StartsWith("10.0.", env["ASPNET_VERSION"], StringComparison.Ordinal);
        var declared = Dockerfile.Load(BuiltImagesFixture.Images[key].Dockerfile).Final.Environment;
        Assert.Equal(declared.TryGetValue("ASPNETCORE_HTTP_PORTS", out var ports) ? ports : "8080", env["ASPNETCORE_HTTP_PORTS"]);

        var files = archive.Files;
        Assert.Contains("app:x:1654:1654:", File(archive, "etc/passwd").Text, StringComparison.Ordinal);
        Assert.Contains("app:x:1654:", File(archive, "etc/group").Text, StringComparison.Ordinal);
        Assert.Equal(1654, File(archive, "home/app").Uid);
        var dotnet = File(archive, "usr/bin/dotnet");
        Assert.Equal(TarEntryType.SymbolicLink, dotnet.Type);
        Assert.Equal("/usr/share/dotnet/dotnet", dotnet.LinkTarget);
        Assert.Contains($"usr/share/dotnet/shared/Microsoft.NETCore.App/{env["DOTNET_VERSION"]}/System.Private.CoreLib.dll", files.Keys);
        Assert.Contains($"usr/share/dotnet/shared/Microsoft.AspNetCore.App/{env["ASPNET_VERSION"]}/Microsoft.AspNetCore.dll", files.Keys);
        var entry = Strings(archive.Config["config"]!["Entrypoint"])[1];
        Assert.Contains(ContainerPath.Combine(archive.Config["config"]!["WorkingDir"]!.GetValue<string>(), entry).TrimStart('/'), files.Keys);
    }

    [Theory]
    [MemberData(nameof(DotnetImages))]
    public void Chiseled_runtime_has_no_shell_no_package_manager_and_no_ICU(string key)
    {
        var files = Archive(key).Files;
        foreach (var absent in new[] { "bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "usr/bin/dpkg", "usr/bin/apt-get", "usr/bin/apt", "var/lib/dpkg/status" })
        {
            Assert.False(Resolves(files, absent), $"{key}: /{absent} is in the image; the chiseled runtime has no shell and no package manager");
        }

        Assert.DoesNotContain(files.Keys, f => f.Contains("/libicu", StringComparison.Ordinal));
        // What the runtime loads: glibc, libstdc++, libgcc, OpenSSL 3 (dlopen), the CA bundle.
        foreach (var library in new[] { "libc.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libssl.so.3", "libcrypto.so.3" })
        {
            Assert.True(Resolves(files, "usr/lib/x86_64-linux-gnu/" + library), $"{key}: {library} is missing");
        }

        Assert.True(Resolves(files, "etc/ssl/certs/ca-certificates.crt"), $"{key}: no CA bundle");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Image_built_on_a_stand_in_says_so(string key)
    {
        var archive = Archive(key);
        var baseName = Dockerfile.Load(BuiltImagesFixture.Images[key].Dockerfile).Final.Image;
        Assert.Equal(baseName, archive.Manifest["annotations"]?["org.opencontainers.image.base.name"]?.GetValue<string>());
        Assert.Equal("base", archive.Manifest["annotations"]?[StandInKey]?.GetValue<string>());
        Assert.Equal("base", archive.Config["config"]?["Labels"]?[StandInKey]?.GetValue<string>());
        Assert.Contains("never push", archive.Config["config"]?["Labels"]?["org.opencontainers.image.description"]?.GetValue<string>() ?? "", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(StandIns))]
    public async Task Stand_in_base_image_is_marked(string name)
    {
        Assert.True(images.Failure is null, images.Failure);
        var inspect = await BuiltImagesFixture.InspectStoredImageAsync(name);
        Assert.Equal("true", inspect["ImageAnnotations"]?[StandInKey]?.GetValue<string>());
        var config = inspect["OCIv1"]!["config"]!;
        Assert.Equal("true", config["Labels"]?[StandInKey]?.GetValue<string>());
        var description = inspect["ImageAnnotations"]?["org.opencontainers.image.description"]?.GetValue<string>() ?? "";
        Assert.Contains($"stand-in for {name}", description, StringComparison.Ordinal);
        Assert.Contains("Debian", description, StringComparison.Ordinal);
        Assert.Contains("never push", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_stand_in_keeps_the_sdk_images_contract()
    {
        Assert.True(images.Failure is null, images.Failure);
        var config = (await BuiltImagesFixture.InspectStoredImageAsync("mcr.microsoft.com/dotnet/sdk:10.0"))["OCIv1"]!["config"]!;
        var env = (config["Env"] as JsonArray)!.Select(e => e!.GetValue<string>().Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        // dotnet/dotnet-docker src/sdk/10.0/noble (on aspnet, runtime, runtime-deps 10.0/noble).
        Assert.Equal("1654", env["APP_UID"]);
        Assert.Equal("8080", env["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal("true", env["DOTNET_RUNNING_IN_CONTAINER"]);
        Assert.Equal("true", env["DOTNET_USE_POLLING_FILE_WATCHER"]);
        Assert.Equal("false", env["DOTNET_GENERATE_ASPNET_CERTIFICATE"]);
        Assert.Equal("true", env["DOTNET_NOLOGO"]);
        Assert.Equal("skip", env["NUGET_XMLDOC_MODE"]);
        Assert.StartsWith("10.0.", env["DOTNET_SDK_VERSION"], StringComparison.Ordinal);
        Assert.StartsWith("10.0.", env["DOTNET_VERSION"], StringComparison.Ordinal);
        Assert.StartsWith("10.0.", env["ASPNET_VERSION"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chiseled_stand_in_runs_dotnet_as_the_app_user()
    {
        Assert.True(images.Failure is null, images.Failure);
        var config = (await BuiltImagesFixture.InspectStoredImageAsync(ChiseledBase))["OCIv1"]!["config"]!;
        Assert.Equal("1654", config["User"]?.GetValue<string>());
        Assert.Equal(["/usr/bin/dotnet"], Strings(config["Entrypoint"]));
        Assert.Equal(["--info"], Strings(config["Cmd"]));
    }

    [Fact]
    public void Database_image_has_the_entry_point_the_seed_and_an_empty_data_directory()
    {
        var archive = Archive("mysql-k8s");
        var files = archive.Files;
        var entrypoint = File(archive, "usr/local/bin/docker-entrypoint.sh");
        Assert.True((entrypoint.Mode & (int)UnixFileMode.UserExecute) != 0, "docker-entrypoint.sh is not executable");
        Assert.Equal(System.IO.File.ReadAllText(Repository.PathOf("hack/local-cluster/mysql/docker-entrypoint.sh")), entrypoint.Text);
        Assert.Equal(System.IO.File.ReadAllText(Repository.PathOf("hack/seed.sql")), File(archive, "docker-entrypoint-initdb.d/10-seed.sql").Text);
        Assert.True(Resolves(files, "usr/sbin/gosu"), "gosu is missing");
        Assert.True(Resolves(files, "usr/sbin/mariadbd"), "mariadbd is missing");
        Assert.Contains("bind-address                   = 0.0.0.0", File(archive, "etc/mysql/mariadb.conf.d/90-container.cnf").Text, StringComparison.Ordinal);

        // The data directory ships empty and owned by mysql (999), as the official image's.
        Assert.Contains("mysql:x:999:999:", File(archive, "etc/passwd").Text, StringComparison.Ordinal);
        var data = File(archive, "var/lib/mysql");
        Assert.Equal(TarEntryType.Directory, data.Type);
        Assert.Equal(999, data.Uid);
        Assert.DoesNotContain(files.Keys, f => f.StartsWith("var/lib/mysql/", StringComparison.Ordinal));
        Assert.Contains("/var/lib/mysql", (archive.Config["config"]?["Volumes"] as JsonObject ?? []).Select(v => v.Key));
    }

    private OciArchive Archive(string key)
    {
        Assert.True(images.Failure is null, images.Failure);
        return images[key];
    }

    private static LayerFile File(OciArchive archive, string path)
    {
        Assert.True(archive.Files.TryGetValue(path, out var file), $"{Path.GetFileName(archive.Path)}: /{path} is missing");
        return file;
    }

    /// <summary>Whether a path exists in the image, following symbolic links of its directories and itself.</summary>
    private static bool Resolves(IReadOnlyDictionary<string, LayerFile> files, string path)
    {
        for (var hops = 0; hops < 16; hops++)
        {
            var parts = path.Split('/');
            var resolved = false;
            for (var i = 1; i <= parts.Length && !resolved; i++)
            {
                var prefix = string.Join('/', parts.Take(i));
                if (files.TryGetValue(prefix, out var file) && file.Type == TarEntryType.SymbolicLink)
                {
                    var target = file.LinkTarget.StartsWith('/')
                        ? file.LinkTarget.TrimStart('/')
                        : ContainerPath.Combine("/" + string.Join('/', parts.Take(i - 1)), file.LinkTarget).TrimStart('/');
                    path = string.Join('/', new[] { target }.Concat(parts.Skip(i))).Trim('/');
                    resolved = true;
                }
            }

            if (!resolved)
            {
                return files.ContainsKey(path);
            }
        }

        return false;
    }

    private static List<string> Exec(DockerStage stage, string keyword) =>
        stage.All(keyword).LastOrDefault() is { } instruction ? instruction.ExecArguments().ToList() : [];

    private static List<string> Strings(JsonNode? node) =>
        (node as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [];

    private static string FullName(string name)
    {
        var full = name.Contains(':', StringComparison.Ordinal) ? name : name + ":latest";
        var first = full.Split('/')[0];
        if (!full.Contains('/', StringComparison.Ordinal))
        {
            return "docker.io/library/" + full;
        }

        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? full
            : "docker.io/" + full;
    }
}
