using System.Text.Json;

namespace LocalCluster.Runtime;

/// <summary>
/// What a container needs from its image: the OCI image config's <c>config</c> object (image-spec
/// <c>config.md</c>: <c>User</c>, <c>Env</c>, <c>Entrypoint</c>, <c>Cmd</c>, <c>WorkingDir</c>),
/// its digests and its unpacked root filesystem.
/// </summary>
/// <param name="Name">The name the container asked for, normalised.</param>
/// <param name="ManifestDigest">sha256:... of the image manifest.</param>
/// <param name="ConfigDigest">sha256:... of the image config (the image's ID, as <c>crictl images</c> shows it).</param>
/// <param name="User">USER: <c>uid</c>, <c>uid:gid</c>, <c>name</c> or <c>name:group</c>; empty means root.</param>
/// <param name="Env">ENV, <c>NAME=value</c> entries in order.</param>
/// <param name="Entrypoint">ENTRYPOINT (may be empty).</param>
/// <param name="Cmd">CMD (may be empty).</param>
/// <param name="WorkingDir">WORKDIR, empty when unset.</param>
/// <param name="RootFs">The unpacked root filesystem (read-only lower layer of every container of this image).</param>
internal sealed record ImageConfig(
    ImageName Name,
    string ManifestDigest,
    string ConfigDigest,
    string User,
    IReadOnlyList<string> Env,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    string WorkingDir,
    string RootFs)
{
    /// <summary>
    /// The imageID a container status reports: the repository at the manifest digest, as containerd
    /// reports an image imported with its digests (<c>ctr images import --digests</c>, what
    /// <c>kind load</c> runs).
    /// </summary>
    public string ImageId => $"{Name.Repository}@{ManifestDigest}";

    /// <summary>Reads the fields above from an image config blob.</summary>
    public static ImageConfig FromJson(ImageName name, string manifestDigest, string configDigest, string json, string rootFs)
    {
        using var doc = JsonDocument.Parse(json);
        var config = doc.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        string Text(string key) => config.ValueKind == JsonValueKind.Object && config.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        List<string> List(string key) => config.ValueKind == JsonValueKind.Object && config.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.GetString() ?? "")]
            : [];
        return new ImageConfig(name, manifestDigest, configDigest, Text("User"), List("Env"), List("Entrypoint"), List("Cmd"), Text("WorkingDir"), rootFs);
    }
}
