using UserApiOperator.DesiredState;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Manifests;

namespace UserApiOperator.Cli;

/// <summary>
/// <c>userapi-operator render -f FILE</c>: prints the objects the operator would apply for each
/// UserApi in FILE (Secret, Deployment, Service, Ingress) as one multi-document YAML stream.
/// Owner references are included when the input carries <c>metadata.uid</c>; the Secret holds a
/// freshly generated password. Needs no cluster.
/// </summary>
public static class RenderCommand
{
    private const string Usage = "usage: userapi-operator render -f FILE";

    /// <summary>Runs the command.</summary>
    /// <param name="args">Arguments after <c>render</c>: <c>-f FILE</c> (or <c>--filename FILE</c>, <c>-f=FILE</c>).</param>
    /// <param name="stdout">Where the YAML goes.</param>
    /// <param name="stderr">Where the one-line error goes.</param>
    /// <returns>0 on success; 1 when the file is missing, malformed, not a UserApi or invalid; 2 on a usage error.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? file = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-f" or "--filename" when i + 1 < args.Count:
                    file = args[++i];
                    break;
                case var a when a.StartsWith("-f=", StringComparison.Ordinal) || a.StartsWith("--filename=", StringComparison.Ordinal):
                    file = a[(a.IndexOf('=', StringComparison.Ordinal) + 1)..];
                    break;
                case "-h" or "--help":
                    stdout.WriteLine(Usage);
                    return 0;
                default:
                    stderr.WriteLine($"render: unexpected argument \"{args[i]}\" ({Usage})");
                    return 2;
            }
        }

        if (string.IsNullOrEmpty(file))
        {
            stderr.WriteLine($"render: -f FILE is required ({Usage})");
            return 2;
        }

        try
        {
            var objects = UserApiManifestReader.ReadFile(file)
                .SelectMany(userApi => DesiredObjects.For(userApi, PasswordGenerator.Generate()).All())
                .Select(Json.ToNode);
            stdout.Write(YamlJson.ToYaml(objects));
            return 0;
        }
        catch (ManifestException e)
        {
            stderr.WriteLine($"render: {e.Message}");
            return 1;
        }
    }
}
