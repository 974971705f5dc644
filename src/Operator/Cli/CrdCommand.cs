using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Crd;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Cli;

/// <summary><c>userapi-operator crd</c>: prints the UserApi CustomResourceDefinition generated from the C# types as YAML.</summary>
public static class CrdCommand
{
    /// <summary>The CRD as one YAML document, exactly as committed under <c>config/crd/</c>.</summary>
    public static string Render() =>
        YamlJson.ToYaml(CrdGenerator.Generate<V1Alpha1UserApi, UserApiSpec, UserApiStatus>());

    /// <summary>Runs the command.</summary>
    /// <param name="args">Arguments after <c>crd</c>; none are accepted.</param>
    /// <param name="stdout">Where the YAML goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>0 on success, 2 on a usage error.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count > 0)
        {
            stderr.WriteLine($"crd: unexpected argument \"{args[0]}\" (usage: userapi-operator crd > config/crd/userapi.example.com_userapis.yaml)");
            return 2;
        }

        stdout.Write(Render());
        return 0;
    }
}
