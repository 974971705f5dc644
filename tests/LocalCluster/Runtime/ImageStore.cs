using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using LocalCluster.Kubelet;

namespace LocalCluster.Runtime;

/// <summary>
/// The node's image store, what containerd's content store and snapshotter are to a kind node:
/// <list type="bullet">
/// <item><c>ROOT/blobs/sha256/&lt;hex&gt;</c>: every blob (manifests, configs, layers) of the loaded images, checked against its digest;</item>
/// <item><c>ROOT/images.json</c>: <c>{"images": {"docker.io/library/userapi:latest": "sha256:&lt;manifest&gt;"}}</c>, names normalised (<see cref="ImageName"/>);</item>
/// <item><c>ROOT/rootfs/&lt;manifest hex&gt;/</c>: the image's layers applied in order, whiteouts honoured (umoci <c>raw unpack</c>), once per
/// manifest digest; containers only ever see it as the read-only lower layer of their overlay. A load removes what no name refers to any more.</item>
/// </list>
/// <see cref="LoadAsync"/> imports an <c>oci-archive</c> (a tar of an OCI image layout: <c>oci-layout</c>, <c>index.json</c>,
/// <c>blobs/sha256/...</c>) as <c>ctr images import --digests</c> does for <c>kind load image-archive</c>: each manifest of its
/// index is named by its <c>io.containerd.image.name</c> annotation, else its <c>org.opencontainers.image.ref.name</c>,
/// and is unpacked at once. The store lives outside the cluster's state directory, so it survives
/// <c>hack/local-cluster.sh down</c> (a kind node's images do not survive <c>kind delete cluster</c>; this cache is what
/// keeps a second start quick). A file lock (<c>ROOT/lock</c>) serialises loads and unpacks across processes.
/// </summary>
internal sealed class ImageStore
{
    private const string IndexMediaType = "application/vnd.oci.image.index.v1+json";
    private const string DockerListMediaType = "application/vnd.docker.distribution.manifest.list.v2+json";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _namesLock = new();
    private Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private DateTime _namesRead = DateTime.MinValue;

    /// <summary>Opens (and makes, when missing) the store at <paramref name="root"/>.</summary>
    public ImageStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(Root, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(Root, "rootfs"));
    }

    /// <summary>The store's directory.</summary>
    public string Root { get; }

    private string NamesFile => Path.Combine(Root, "images.json");

    /// <summary>The blob file of a <c>sha256:...</c> digest.</summary>
    public string Blob(string digest) => Path.Combine(Root, "blobs", "sha256", digest["sha256:".Length..]);

    /// <summary>
    /// Imports an oci-archive; returns the names it brought, each with its manifest digest. Throws
    /// <see cref="InvalidDataException"/> naming the file when it is not an OCI archive, a blob does
    /// not match its digest, or no manifest in it carries a name.
    /// </summary>
    public async Task<List<(ImageName Name, string Digest)>> LoadAsync(string archive, CancellationToken ct = default)
    {
        using var fileLock = await LockAsync(ct);
        string? index = null;
        var layout = false;
        await using (var file = File.OpenRead(archive))
        await using (var tar = new TarReader(file))
        {
            while (await tar.GetNextEntryAsync(cancellationToken: ct) is { } entry)
            {
                var name = entry.Name.TrimStart('.', '/');
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                if (name == "index.json")
                {
                    using var reader = new StreamReader(entry.DataStream);
                    index = await reader.ReadToEndAsync(ct);
                }
                else if (name == "oci-layout")
                {
                    layout = true;
                }
                else if (name.StartsWith("blobs/sha256/", StringComparison.Ordinal))
                {
                    await StoreBlobAsync(name["blobs/sha256/".Length..], entry.DataStream, archive, ct);
                }
            }
        }
        if (!layout || index is null)
        {
            throw new InvalidDataException($"{archive}: not an OCI image archive (no oci-layout or index.json; a `docker save` archive must be converted, e.g. with skopeo copy docker-archive:FILE oci-archive:OUT)");
        }

        var loaded = new List<(ImageName, string)>();
        var names = ReadNames();
        foreach (var descriptor in JsonNode.Parse(index)!["manifests"]?.AsArray() ?? [])
        {
            var annotations = descriptor!["annotations"];
            var label = (string?)annotations?["io.containerd.image.name"] ?? (string?)annotations?["org.opencontainers.image.ref.name"];
            var manifest = ResolvePlatform(descriptor, archive);
            // A bare word is an OCI tag (ref.name "latest"), not an image name: such an entry cannot be named.
            var bare = label is not null && !label.Contains('/', StringComparison.Ordinal) && !label.Contains(':', StringComparison.Ordinal) && !label.Contains('@', StringComparison.Ordinal);
            if (label is null || bare || ImageName.TryParse(label, out _) is not { } imageName)
            {
                Log.Write($"images: {archive}: manifest {manifest} has no image name annotation; skipped");
                continue;
            }
            await UnpackAsync(manifest, ct);
            if (imageName.Tag is not null) names[(imageName with { Digest = null }).ToString()] = manifest;
            // As `ctr images import --digests`: the image is also known by repository@digest.
            names[$"{imageName.Repository}@{manifest}"] = manifest;
            loaded.Add((imageName, manifest));
        }
        if (loaded.Count == 0) throw new InvalidDataException($"{archive}: no manifest in index.json carries an image name (io.containerd.image.name or org.opencontainers.image.ref.name)");
        // A digest name whose manifest no tag names any more is dangling (an older build of a tag just
        // loaded again); it goes, and with it what only it kept.
        var tagged = names.Where(n => !n.Key.Contains('@', StringComparison.Ordinal)).Select(n => n.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var dangling in names.Where(n => n.Key.Contains('@', StringComparison.Ordinal) && !tagged.Contains(n.Value)).Select(n => n.Key).ToList())
        {
            names.Remove(dangling);
        }
        WriteNames(names);
        await PruneAsync(names);
        return loaded;
    }

    /// <summary>
    /// The image under <paramref name="name"/>, unpacked; null when the store lacks it. A digest
    /// reference matches the repository at that manifest digest.
    /// </summary>
    public async Task<ImageConfig?> FindAsync(ImageName name, CancellationToken ct = default)
    {
        var names = ReadNames();
        if (!names.TryGetValue(name.ToString(), out var manifest) && !(name.Digest is not null && names.TryGetValue($"{name.Repository}@{name.Digest}", out manifest)))
        {
            return null;
        }
        if (name.Digest is not null && name.Digest != manifest) return null;
        var rootfs = RootFs(manifest);
        if (!Directory.Exists(rootfs))
        {
            using var fileLock = await LockAsync(ct);
            await UnpackAsync(manifest, ct);
        }
        var manifestJson = JsonNode.Parse(await File.ReadAllTextAsync(Blob(manifest), ct))!;
        var configDigest = (string)manifestJson["config"]!["digest"]!;
        return ImageConfig.FromJson(name, manifest, configDigest, await File.ReadAllTextAsync(Blob(configDigest), ct), rootfs);
    }

    /// <summary>Every name in the store with its manifest digest (for <c>local-cluster images list</c>).</summary>
    public IReadOnlyDictionary<string, string> Names() => ReadNames();

    /// <summary>
    /// The store's images as a Node reports them (<c>status.images</c>, from CRI <c>ListImages</c>): per
    /// manifest, its names (the repository at the digest first, then the tags), its size in bytes
    /// (the manifest, config and compressed layers, as containerd counts an image's content) and its
    /// config digest (the image ID).
    /// </summary>
    public List<(IReadOnlyList<string> Names, long SizeBytes, string ConfigDigest)> List()
    {
        var images = new List<(IReadOnlyList<string>, long, string)>();
        foreach (var group in ReadNames().GroupBy(n => n.Value, StringComparer.Ordinal))
        {
            if (!File.Exists(Blob(group.Key))) continue;
            var manifest = JsonNode.Parse(File.ReadAllText(Blob(group.Key)))!;
            var size = new FileInfo(Blob(group.Key)).Length + ((long?)manifest["config"]?["size"] ?? 0)
                + (manifest["layers"]?.AsArray().Sum(l => (long?)l!["size"] ?? 0) ?? 0);
            var tags = group.Select(n => n.Key).Where(n => !n.Contains('@', StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            var repository = tags.Select(t => ImageName.Parse(t).Repository).FirstOrDefault();
            List<string> names = repository is null ? tags : [$"{repository}@{group.Key}", .. tags];
            images.Add((names, size, (string?)manifest["config"]?["digest"] ?? ""));
        }
        return images;
    }

    /// <summary>
    /// Removes unpacked root filesystems that no name refers to any more (an image replaced by a newer
    /// build under the same tag) and that no container's overlay uses (its lowerdir in
    /// /proc/self/mountinfo), as the runtime's image garbage collection removes unused snapshots.
    /// </summary>
    private async Task PruneAsync(Dictionary<string, string> names)
    {
        var used = new HashSet<string>(names.Values.Select(m => m["sha256:".Length..]), StringComparer.Ordinal);
        var mounts = File.ReadAllText("/proc/self/mountinfo");
        foreach (var dir in Directory.GetDirectories(Path.Combine(Root, "rootfs")))
        {
            var hex = Path.GetFileName(dir);
            if (used.Contains(hex) || hex.EndsWith(".partial", StringComparison.Ordinal) || mounts.Contains(dir, StringComparison.Ordinal)) continue;
            await Host.RunAsync("rm", ["-rf", "--one-file-system", dir]);
            Log.Write($"images: removed the unpacked sha256:{hex}, which no image name refers to any more");
        }

        // Blobs: those of the named manifests (the manifest, its config, its layers) stay.
        var blobs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var manifest in names.Values.Distinct(StringComparer.Ordinal))
        {
            blobs.Add(manifest);
            if (!File.Exists(Blob(manifest))) continue;
            var node = JsonNode.Parse(await File.ReadAllTextAsync(Blob(manifest)))!;
            if ((string?)node["config"]?["digest"] is { } config) blobs.Add(config);
            foreach (var layer in node["layers"]?.AsArray() ?? []) blobs.Add((string)layer!["digest"]!);
        }
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "blobs", "sha256")))
        {
            var name = Path.GetFileName(file);
            if (name.Length == 64 && !blobs.Contains("sha256:" + name)) File.Delete(file);
        }
    }

    private string RootFs(string manifest) => Path.Combine(Root, "rootfs", manifest["sha256:".Length..]);

    /// <summary>A manifest descriptor's digest; for an index (multi-platform), its linux/amd64 manifest.</summary>
    private string ResolvePlatform(JsonNode descriptor, string archive)
    {
        var digest = (string)descriptor["digest"]!;
        var mediaType = (string?)descriptor["mediaType"];
        if (mediaType is not (IndexMediaType or DockerListMediaType)) return digest;
        var inner = JsonNode.Parse(File.ReadAllText(Blob(digest)))!["manifests"]!.AsArray();
        var pick = inner.FirstOrDefault(m => (string?)m!["platform"]?["os"] == "linux" && (string?)m["platform"]?["architecture"] == "amd64")
            ?? throw new InvalidDataException($"{archive}: index {digest} has no linux/amd64 manifest");
        return ResolvePlatform(pick!, archive);
    }

    private async Task StoreBlobAsync(string hex, Stream data, string archive, CancellationToken ct)
    {
        var target = Path.Combine(Root, "blobs", "sha256", hex);
        var temp = $"{target}.{Environment.ProcessId}.tmp";
        await using (var output = File.Create(temp))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await data.ReadAsync(buffer, ct)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
            }
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != hex)
            {
                output.Close();
                File.Delete(temp);
                throw new InvalidDataException($"{archive}: blob sha256:{hex} has digest sha256:{actual}");
            }
        }
        File.Move(temp, target, overwrite: true);
    }

    /// <summary>Applies the manifest's layers into rootfs/&lt;hex&gt; once (umoci raw unpack over a one-entry layout that shares the blobs).</summary>
    private async Task UnpackAsync(string manifest, CancellationToken ct)
    {
        var rootfs = RootFs(manifest);
        if (Directory.Exists(rootfs)) return;
        await _gate.WaitAsync(ct);
        try
        {
            if (Directory.Exists(rootfs)) return;
            var hex = manifest["sha256:".Length..];
            var layout = Path.Combine(Root, "tmp", hex);
            var partial = rootfs + ".partial";
            if (Directory.Exists(layout)) Directory.Delete(layout, recursive: true);
            if (Directory.Exists(partial)) await Host.RunAsync("rm", ["-rf", "--one-file-system", partial], ct);
            Directory.CreateDirectory(layout);
            await File.WriteAllTextAsync(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""", ct);
            var size = new FileInfo(Blob(manifest)).Length;
            var mediaType = (string?)JsonNode.Parse(await File.ReadAllTextAsync(Blob(manifest), ct))!["mediaType"] ?? "application/vnd.oci.image.manifest.v1+json";
            await File.WriteAllTextAsync(Path.Combine(layout, "index.json"), JsonSerializer.Serialize(new
            {
                schemaVersion = 2,
                manifests = new[] { new Dictionary<string, object> { ["mediaType"] = mediaType, ["digest"] = manifest, ["size"] = size, ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = "unpack" } } },
            }), ct);
            File.CreateSymbolicLink(Path.Combine(layout, "blobs"), Path.Combine(Root, "blobs"));
            var started = DateTime.UtcNow;
            var (code, output) = await Host.RunAsync("umoci", ["raw", "unpack", "--image", $"{layout}:unpack", partial], ct);
            Directory.Delete(layout, recursive: true);
            if (code != 0) throw new InvalidDataException($"unpacking image {manifest} failed (umoci raw unpack): {output.Trim()}");
            Directory.Move(partial, rootfs);
            Log.Write($"images: unpacked {manifest} in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        }
        finally
        {
            _gate.Release();
        }
    }

    private Dictionary<string, string> ReadNames()
    {
        lock (_namesLock)
        {
            if (!File.Exists(NamesFile)) return new(StringComparer.Ordinal);
            var stamp = File.GetLastWriteTimeUtc(NamesFile);
            if (stamp != _namesRead)
            {
                var node = JsonNode.Parse(File.ReadAllText(NamesFile))!["images"]!.AsObject();
                _names = node.ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal);
                _namesRead = stamp;
            }
            return new(_names, StringComparer.Ordinal);
        }
    }

    private void WriteNames(Dictionary<string, string> names)
    {
        var temp = $"{NamesFile}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(new { images = new SortedDictionary<string, string>(names, StringComparer.Ordinal) }, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, NamesFile, overwrite: true);
    }

    /// <summary>An exclusive lock on ROOT/lock (other processes' loads wait for it).</summary>
    private async Task<FileStream> LockAsync(CancellationToken ct)
    {
        var path = Path.Combine(Root, "lock");
        for (var i = 0; ; i++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (i < 6000)
            {
                await Task.Delay(100, ct);
            }
        }
    }
}
