using YamlDotNet.RepresentationModel;

namespace LocalCluster.Kubelet;

/// <summary>One program an image runs as: its entry point and its own environment.</summary>
internal sealed record ImageProgram(IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Env);

/// <summary>
/// hack/local-cluster/images.yaml: container image name -> local program. Patterns are exact names
/// or prefixes ending in <c>*</c>; the first match wins. <c>${REPO}</c> and <c>${STATE}</c> in
/// values expand to the repository root and the state directory.
/// </summary>
internal sealed class ImageTable
{
    private readonly List<(string Pattern, ImageProgram Program)> _entries = [];

    private ImageTable()
    {
    }

    /// <summary>Reads the table; throws with the file name when it is malformed.</summary>
    public static ImageTable Load(string path, string repoRoot, string stateDir)
    {
        var table = new ImageTable();
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        string Expand(string v) => v.Replace("${REPO}", repoRoot, StringComparison.Ordinal).Replace("${STATE}", stateDir, StringComparison.Ordinal);
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        foreach (var node in ((YamlSequenceNode)root["images"]).Children.Cast<YamlMappingNode>())
        {
            var pattern = ((YamlScalarNode)node["image"]).Value ?? throw new InvalidDataException($"{path}: an entry without image");
            var command = ((YamlSequenceNode)node["command"]).Children.Select(c => Expand(((YamlScalarNode)c).Value ?? "")).ToList();
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (node.Children.TryGetValue(new YamlScalarNode("env"), out var e) && e is YamlMappingNode map)
            {
                foreach (var (k, v) in map.Children) env[((YamlScalarNode)k).Value!] = Expand(((YamlScalarNode)v).Value ?? "");
            }
            table._entries.Add((pattern, new ImageProgram(command, env)));
        }
        return table;
    }

    /// <summary>The program for <paramref name="image"/>, or null when no entry matches (ErrImagePull).</summary>
    public ImageProgram? Resolve(string image)
    {
        foreach (var (pattern, program) in _entries)
        {
            var match = pattern.EndsWith('*')
                ? image.StartsWith(pattern[..^1], StringComparison.Ordinal)
                : image == pattern;
            if (match) return program;
        }
        return null;
    }
}
