using System.Text.RegularExpressions;

namespace LocalCluster.Runtime;

/// <summary>
/// A container image reference normalised as the container runtime does it (containerd and the
/// kubelet use github.com/distribution/reference, <c>normalize.go</c>, <c>ParseNormalizedNamed</c>
/// and <c>TagNameOnly</c>): a first component without a dot or colon that is not <c>localhost</c>
/// means Docker Hub (<c>docker.io</c>), a one-component path there gets <c>library/</c>, and a
/// name with neither tag nor digest means <c>:latest</c>. So <c>userapi</c>,
/// <c>userapi:latest</c> and <c>docker.io/library/userapi:latest</c> are one image.
/// </summary>
/// <param name="Domain">Registry host (and port), e.g. <c>docker.io</c>.</param>
/// <param name="Path">Repository path, e.g. <c>library/userapi</c>.</param>
/// <param name="Tag">Tag, e.g. <c>latest</c>; null for a reference by digest alone.</param>
/// <param name="Digest">Manifest digest (<c>sha256:&lt;64 hex&gt;</c>) or null.</param>
internal sealed partial record ImageName(string Domain, string Path, string? Tag, string? Digest)
{
    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    private static partial Regex DigestPattern();

    /// <summary>The repository: domain/path, e.g. <c>docker.io/library/userapi</c>.</summary>
    public string Repository => $"{Domain}/{Path}";

    /// <summary>The full normalised reference, e.g. <c>docker.io/library/userapi:latest</c>.</summary>
    public override string ToString() => Repository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>Parses and normalises <paramref name="reference"/>; null with <paramref name="error"/> when it is not a valid reference.</summary>
    public static ImageName? TryParse(string reference, out string error)
    {
        error = "";
        var rest = reference.Trim();
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!DigestPattern().IsMatch(digest))
            {
                error = $"invalid reference format: digest \"{digest}\" is not sha256:<64 hex digits>";
                return null;
            }
        }
        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"invalid reference format: tag \"{tag}\"";
                return null;
            }
        }
        string domain, path;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : rest[..slash];
        if (slash < 0 || (!first.Contains('.', StringComparison.Ordinal) && !first.Contains(':', StringComparison.Ordinal) && first != "localhost"))
        {
            domain = "docker.io";
            path = rest;
        }
        else
        {
            domain = first;
            path = rest[(slash + 1)..];
        }
        if (domain == "index.docker.io") domain = "docker.io";
        if (domain == "docker.io" && !path.Contains('/', StringComparison.Ordinal)) path = "library/" + path;
        if (path.Length == 0 || !PathPattern().IsMatch(path))
        {
            error = path.Any(char.IsUpper)
                ? "invalid reference format: repository name must be lowercase"
                : $"invalid reference format: \"{reference}\"";
            return null;
        }
        if (tag is null && digest is null) tag = "latest";
        return new ImageName(domain, path, tag, digest);
    }

    /// <summary>Parses and normalises <paramref name="reference"/>; throws <see cref="FormatException"/> when invalid.</summary>
    public static ImageName Parse(string reference) =>
        TryParse(reference, out var error) ?? throw new FormatException($"{reference}: {error}");
}
