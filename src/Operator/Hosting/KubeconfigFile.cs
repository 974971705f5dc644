using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace UserApiOperator.Hosting;

/// <summary>
/// Reads one kubeconfig file into KubernetesClient's own model (<see cref="K8SConfiguration"/>), as
/// <c>KubernetesClientConfiguration.LoadKubeConfig(FileInfo)</c> does: the settings of
/// <c>k8s.KubernetesYaml</c>'s lenient reader that these models use (camel case, their <c>YamlMember</c>
/// aliases, unquoted scalars typed, merge keys, unknown fields ignored; its type converters and
/// <c>JsonPropertyName</c> overrides serve API object models, which a kubeconfig does not hold), and
/// <see cref="K8SConfiguration.FileName"/> set, so that KubernetesClient resolves relative certificate
/// paths against the file's directory. What the file means (contexts, exec credential plugins,
/// certificates, tokens) is still decided by <c>KubernetesClientConfiguration.BuildConfigFromConfigObject</c>.
/// </summary>
/// <remarks>
/// Why not <c>LoadKubeConfig</c> itself: it goes through <c>k8s.KubernetesYaml</c>, whose type
/// initialiser loads every type of KubernetesClient to map kinds to models (<c>Assembly.GetTypes()</c>
/// and a custom-attribute lookup on each). Measured in a console program on this machine: reading a
/// three-line kubeconfig that way grows the resident set by 35 MB, this way by 12 MB. The operator never
/// needs that map: it reads no multi-document YAML at run time.
/// </remarks>
internal static class KubeconfigFile
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithAttemptingUnquotedStringTypeDeserialization()
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>The kubeconfig at <paramref name="path"/>, with <see cref="K8SConfiguration.FileName"/> set to its full path.</summary>
    /// <exception cref="KubeConfigException">No file at <paramref name="path"/>, it is empty, or it is not YAML of a kubeconfig's shape (the message names the file, line and column).</exception>
    public static K8SConfiguration Load(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new KubeConfigException($"kubeconfig file not found at {file.FullName}");
        }

        using var reader = file.OpenText();
        K8SConfiguration? config;
        try
        {
            config = Deserializer.Deserialize<K8SConfiguration?>(new MergingParser(new Parser(reader)));
        }
        catch (YamlException e)
        {
            // YamlDotNet's message gives the line and column but not the file: name it.
            throw new KubeConfigException($"kubeconfig file {file.FullName} is not a valid kubeconfig: {e.Message}", e);
        }

        if (config is null)
        {
            throw new KubeConfigException($"kubeconfig file {file.FullName} is empty");
        }
        config.FileName = file.FullName;
        return config;
    }
}
