using UserApiOperator.Entities;
using UserApiOperator.Manifests;

namespace UserApiOperator.Tests.Support;

/// <summary>UserApi objects for tests, read through the same path as manifests so that defaults apply.</summary>
internal static class UserApis
{
    public const string Uid = "6f1c3a2e-8d4b-4f5a-9c7e-0123456789ab";

    /// <summary>A UserApi from the given spec YAML (indented under <c>spec:</c>), named <paramref name="name"/> in namespace team-a.</summary>
    public static V1Alpha1UserApi FromSpec(string specYaml = "", string name = "alpha", string? uid = Uid)
    {
        var indented = string.Join("\n", specYaml.Split('\n').Select(line => "  " + line));
        var yaml = $"""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata:
              name: {name}
              namespace: team-a
            {(uid is null ? "" : $"  uid: {uid}")}
            spec:
            {indented}
            """;
        return UserApiManifestReader.Read(yaml, "test.yaml").Single();
    }
}
