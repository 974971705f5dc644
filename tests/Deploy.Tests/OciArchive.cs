using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// An OCI image archive as <c>hack/build-images.sh</c> writes it (<c>.local/images/NAME.tar</c>): a tar
/// of an OCI image layout (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/...</c>) plus Docker's
/// <c>manifest.json</c>, read the way a container runtime imports it: index.json, then the manifest it
/// names, then the config and the layers. Layers are applied in order with their whiteouts into
/// <see cref="Files"/>, the image's root filesystem as a runtime would unpack it.
/// </summary>
public sealed class OciArchive
{
    private const long SmallEntry = 4 * 1024 * 1024;

    private readonly Dictionary<string, byte[]> small;

    private OciArchive(string path, Dictionary<string, byte[]> small, Dictionary<string, long> sizes)
    {
        Path = path;
        this.small = small;
        EntrySizes = sizes;
        Layout = Json("oci-layout");
        Index = Json("index.json");
        DockerManifest = small.ContainsKey("manifest.json") ? Json("manifest.json") : null;
        var descriptor = Index["manifests"]![0]!;
        ManifestDigest = descriptor["digest"]!.GetValue<string>();
        Manifest = Json(BlobPath(ManifestDigest));
        ConfigDigest = Manifest["config"]!["digest"]!.GetValue<string>();
        Config = Json(BlobPath(ConfigDigest));
    }

    /// <summary>The archive's path.</summary>
    public string Path { get; }

    /// <summary>Sizes of the archive's regular files, by path in the archive.</summary>
    public IReadOnlyDictionary<string, long> EntrySizes { get; }

    /// <summary>The <c>oci-layout</c> file.</summary>
    public JsonNode Layout { get; }

    /// <summary>The <c>index.json</c> file.</summary>
    public JsonNode Index { get; }

    /// <summary>Docker's <c>manifest.json</c>, when the archive has one.</summary>
    public JsonNode? DockerManifest { get; }

    /// <summary>Digest of the image manifest that index.json names (<c>sha256:...</c>).</summary>
    public string ManifestDigest { get; }

    /// <summary>The image manifest.</summary>
    public JsonNode Manifest { get; }

    /// <summary>Digest of the image config (<c>sha256:...</c>): the image ID.</summary>
    public string ConfigDigest { get; }

    /// <summary>The image config (<c>architecture</c>, <c>os</c>, <c>config</c>, <c>rootfs</c>, <c>history</c>).</summary>
    public JsonNode Config { get; }

    /// <summary>The root filesystem: every path (no leading slash) after all layers and whiteouts.</summary>
    public IReadOnlyDictionary<string, LayerFile> Files { get; private set; } = new Dictionary<string, LayerFile>();

    /// <summary>The sha256 digest and size of each blob as read from the archive, by digest.</summary>
    public IReadOnlyDictionary<string, (string Digest, long Size)> Blobs { get; private set; } = new Dictionary<string, (string, long)>();

    /// <summary>The image's environment (<c>config.Env</c>) as a map.</summary>
    public IReadOnlyDictionary<string, string> Environment =>
        (Config["config"]?["Env"] as JsonArray ?? []).Select(e => e!.GetValue<string>().Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    /// <summary>Reads an archive: its small files, each blob's digest, and the layers' files.</summary>
    /// <param name="path">Path of the tar file.</param>
    /// <returns>The archive.</returns>
    public static OciArchive Load(string path)
    {
        var small = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var blobs = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        using (var file = File.OpenRead(path))
        using (var tar = new TarReader(file))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                var name = Normalize(entry.Name);
                sizes[name] = entry.Length;
                using var sha = SHA256.Create();
                using var hashing = new CryptoStream(entry.DataStream, sha, CryptoStreamMode.Read);
                if (entry.Length <= SmallEntry)
                {
                    using var copy = new MemoryStream();
                    hashing.CopyTo(copy);
                    small[name] = copy.ToArray();
                }
                else
                {
                    hashing.CopyTo(Stream.Null);
                }

                if (name.StartsWith("blobs/sha256/", StringComparison.Ordinal))
                {
                    blobs["sha256:" + name["blobs/sha256/".Length..]] = ("sha256:" + Convert.ToHexStringLower(sha.Hash!), entry.Length);
                }
            }
        }

        var archive = new OciArchive(path, small, sizes) { Blobs = blobs };
        archive.Files = archive.ReadLayers();
        return archive;
    }

    /// <summary>A small file of the archive as text.</summary>
    /// <param name="name">Path in the archive.</param>
    /// <returns>Its content.</returns>
    public string Text(string name) => Encoding.UTF8.GetString(small[name]);

    /// <summary>Path of a blob in the archive.</summary>
    /// <param name="digest"><c>sha256:HEX</c>.</param>
    /// <returns><c>blobs/sha256/HEX</c>.</returns>
    public static string BlobPath(string digest) => "blobs/" + digest.Replace(':', '/');

    private JsonNode Json(string name) =>
        JsonNode.Parse(small.TryGetValue(name, out var bytes) ? bytes : throw new InvalidOperationException($"{Path}: no {name}"))!;

    private Dictionary<string, LayerFile> ReadLayers()
    {
        var files = new Dictionary<string, LayerFile>(StringComparer.Ordinal);
        foreach (var layer in (Manifest["layers"] as JsonArray ?? []).Select(l => l!))
        {
            var blob = BlobPath(layer["digest"]!.GetValue<string>());
            var mediaType = layer["mediaType"]!.GetValue<string>();
            using var file = File.OpenRead(Path);
            using var outer = new TarReader(file);
            while (outer.GetNextEntry() is { } entry)
            {
                if (Normalize(entry.Name) != blob || entry.DataStream is null)
                {
                    continue;
                }

                Stream data = mediaType.EndsWith("+gzip", StringComparison.Ordinal) ? new GZipStream(entry.DataStream, CompressionMode.Decompress) : entry.DataStream;
                using (data)
                {
                    Apply(files, new TarReader(data));
                }

                break;
            }
        }

        return files;
    }

    /// <summary>Applies one layer (OCI image spec, layer.md: whiteouts <c>.wh.NAME</c> and <c>.wh..wh..opq</c>).</summary>
    private static void Apply(Dictionary<string, LayerFile> files, TarReader layer)
    {
        while (layer.GetNextEntry() is { } entry)
        {
            var name = Normalize(entry.Name);
            if (name.Length == 0)
            {
                continue;
            }

            var dir = name.Contains('/') ? name[..name.LastIndexOf('/')] : "";
            var leaf = name[(name.LastIndexOf('/') + 1)..];
            if (leaf == ".wh..wh..opq")
            {
                RemoveUnder(files, dir, keepSelf: true);
                continue;
            }

            if (leaf.StartsWith(".wh.", StringComparison.Ordinal))
            {
                RemoveUnder(files, (dir.Length > 0 ? dir + "/" : "") + leaf[4..], keepSelf: false);
                continue;
            }

            byte[]? content = null;
            if (entry.DataStream is not null && entry.Length <= 64 * 1024 && (name.StartsWith("etc/", StringComparison.Ordinal) || name.EndsWith(".sql", StringComparison.Ordinal) || name.EndsWith(".sh", StringComparison.Ordinal) || name.EndsWith(".cnf", StringComparison.Ordinal)))
            {
                using var copy = new MemoryStream();
                entry.DataStream.CopyTo(copy);
                content = copy.ToArray();
            }

            if (entry.EntryType != TarEntryType.Directory)
            {
                RemoveUnder(files, name, keepSelf: false);
            }

            files[name] = new LayerFile(name, entry.EntryType, (int)entry.Mode, entry.Uid, entry.Gid, entry.LinkName, content);
        }
    }

    private static void RemoveUnder(Dictionary<string, LayerFile> files, string path, bool keepSelf)
    {
        foreach (var key in files.Keys.Where(k => k.StartsWith(path + "/", StringComparison.Ordinal) || (!keepSelf && k == path)).ToList())
        {
            files.Remove(key);
        }
    }

    private static string Normalize(string name)
    {
        var n = name.Replace('\\', '/');
        while (n.StartsWith("./", StringComparison.Ordinal))
        {
            n = n[2..];
        }

        return n.Trim('/');
    }
}

/// <summary>One file of an image's root filesystem, as its last layer wrote it.</summary>
/// <param name="Path">Path without a leading slash (<c>usr/bin/dotnet</c>).</param>
/// <param name="Type">Regular file, directory, symbolic link, ...</param>
/// <param name="Mode">Permission bits (<c>UnixFileMode</c> values).</param>
/// <param name="Uid">Owner.</param>
/// <param name="Gid">Group.</param>
/// <param name="LinkTarget">Target of a link; empty otherwise.</param>
/// <param name="Content">Content of small configuration files (under <c>etc/</c>, <c>*.sql</c>, <c>*.sh</c>, <c>*.cnf</c>); null otherwise.</param>
public sealed record LayerFile(string Path, TarEntryType Type, int Mode, int Uid, int Gid, string LinkTarget, byte[]? Content)
{
    /// <summary>The content as UTF-8 text (empty when not kept).</summary>
    public string Text => Content is null ? "" : Encoding.UTF8.GetString(Content);
}
