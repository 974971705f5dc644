using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// Small images for the container tests, written as an OCI image archive (an <c>oci-archive</c>:
/// <c>oci-layout</c>, <c>index.json</c> naming each manifest with <c>io.containerd.image.name</c>
/// and <c>org.opencontainers.image.ref.name</c>, <c>blobs/sha256/...</c>) by the test itself: one
/// gzip layer holding Debian's static busybox (package busybox-static, installed when missing) with
/// its applets as symlinks, an /etc/passwd with root and <c>app</c> (1654, the aspnet images' user)
/// and an /etc/group, and one image config per name:
/// <list type="bullet">
/// <item><c>lc-test/busybox:root</c>: no USER (runs as root);</item>
/// <item><c>lc-test/busybox:nonroot</c>: USER 1654;</item>
/// <item><c>lc-test/busybox:named</c>: USER app (a name: runAsNonRoot cannot verify it).</item>
/// </list>
/// </summary>
public static class TestImages
{
    /// <summary>Image run as root.</summary>
    public const string Root = "lc-test/busybox:root";

    /// <summary>Image whose USER is 1654.</summary>
    public const string NonRoot = "lc-test/busybox:nonroot";

    /// <summary>Image whose USER is the name app.</summary>
    public const string Named = "lc-test/busybox:named";

    /// <summary>Every entry's time: the same bytes, so the same digests, on every run (the store keeps one copy).</summary>
    private static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    private static readonly string[] Applets =
    [
        "sh", "sleep", "cat", "id", "touch", "chown", "dd", "echo", "ls", "grep", "head", "mkdir", "kill", "true",
        "false", "env", "wc", "stat", "hostname", "trap", "tail", "printf", "test", "[", "rm", "mount",
    ];

    /// <summary>Writes the archive to <paramref name="path"/> (once per test run) and returns it.</summary>
    public static async Task<string> WriteAsync(string path)
    {
        if (!System.IO.File.Exists("/bin/busybox"))
        {
            var install = await Shell.RunAsync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "busybox-static"], TimeSpan.FromMinutes(5),
                new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            if (install.ExitCode != 0)
            {
                await Shell.RunAsync("apt-get", ["update", "-qq"], TimeSpan.FromMinutes(5));
                install = await Shell.RunAsync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "busybox-static"], TimeSpan.FromMinutes(5),
                    new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            }
            Assert.True(install.ExitCode == 0, $"installing busybox-static: {install.Transcript}");
        }

        // The layer: busybox, its applets, /etc/passwd and /etc/group, the usual empty directories.
        var layer = new MemoryStream();
        await using (var tar = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var dir in new[] { "bin", "etc", "tmp", "proc", "sys", "dev", "root", "home", "home/app", "var", "run" })
            {
                var entry = new PaxTarEntry(TarEntryType.Directory, dir + "/") { Mode = dir == "tmp" ? (UnixFileMode)0x3FF : (UnixFileMode)0x1ED, ModificationTime = Epoch };
                if (dir == "home/app") { entry.Uid = 1654; entry.Gid = 1654; }
                await tar.WriteEntryAsync(entry);
            }
            var busybox = await System.IO.File.ReadAllBytesAsync("/bin/busybox");
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0x1ED, ModificationTime = Epoch, DataStream = new MemoryStream(busybox) });
            foreach (var applet in Applets)
            {
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{applet}") { LinkName = "busybox", ModificationTime = Epoch });
            }
            await tar.WriteEntryAsync(TextFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1654:1654:app:/home/app:/bin/sh\n"));
            await tar.WriteEntryAsync(TextFile("etc/group", "root:x:0:\napp:x:1654:\nextra:x:4242:app\n"));
        }
        var diffId = Digest(layer.ToArray());
        var gz = new MemoryStream();
        await using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) await gzip.WriteAsync(layer.ToArray());
        var layerBlob = gz.ToArray();

        var blobs = new Dictionary<string, byte[]> { [Digest(layerBlob)] = layerBlob };
        var manifests = new List<object>();
        foreach (var (name, user) in new[] { (Root, ""), (NonRoot, "1654"), (Named, "app") })
        {
            var config = Json(new
            {
                architecture = "amd64",
                os = "linux",
                config = new { User = user, Env = new[] { "PATH=/bin", "FROM_IMAGE=yes" }, Cmd = new[] { "sh" }, WorkingDir = "/" },
                rootfs = new { type = "layers", diff_ids = new[] { diffId } },
            });
            blobs[Digest(config)] = config;
            var manifest = Json(new
            {
                schemaVersion = 2,
                mediaType = "application/vnd.oci.image.manifest.v1+json",
                config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = Digest(config), size = config.Length },
                layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = Digest(layerBlob), size = layerBlob.Length } },
            });
            blobs[Digest(manifest)] = manifest;
            var full = $"docker.io/{name}";
            manifests.Add(new
            {
                mediaType = "application/vnd.oci.image.manifest.v1+json",
                digest = Digest(manifest),
                size = manifest.Length,
                annotations = new Dictionary<string, string> { ["io.containerd.image.name"] = full, ["org.opencontainers.image.ref.name"] = full },
            });
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var file = System.IO.File.Create(path))
        await using (var archive = new TarWriter(file, TarEntryFormat.Pax))
        {
            await archive.WriteEntryAsync(TextFile("oci-layout", """{"imageLayoutVersion":"1.0.0"}"""));
            await archive.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "index.json") { DataStream = new MemoryStream(Json(new { schemaVersion = 2, manifests })) });
            foreach (var (digest, data) in blobs)
            {
                await archive.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, $"blobs/sha256/{digest["sha256:".Length..]}") { DataStream = new MemoryStream(data) });
            }
        }
        return path;
    }

    private static PaxTarEntry TextFile(string name, string content) =>
        new(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4, ModificationTime = Epoch, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    private static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value);

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
