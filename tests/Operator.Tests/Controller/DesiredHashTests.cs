using System.Diagnostics;
using k8s;
using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.Controller;

public class DesiredHashTests
{
    [Fact]
    public void The_desired_hash_changes_when_a_field_is_dropped()
    {
        var withAnnotation = DesiredObjects.For(UserApis.FromSpec("ingress: {annotations: {a: b}}"), "pw").Ingress!;
        var without = DesiredObjects.For(UserApis.FromSpec(), "pw").Ingress!;

        Assert.NotEqual(withAnnotation.Metadata.Annotations![DesiredHash.Annotation], without.Metadata.Annotations![DesiredHash.Annotation]);
        Assert.Equal(16, without.Metadata.Annotations[DesiredHash.Annotation].Length);
    }

    [Fact]
    public async Task The_desired_hash_is_the_same_in_every_process()
    {
        // A hash that moved between processes (string hash seeds, dictionary order) would make every
        // operator restart apply every object again. The real binary, twice, against this process.
        var sample = Repository.PathOf("config/samples/userapi.yaml");
        var here = DesiredObjects.For(UserApiOperator.Manifests.UserApiManifestReader.ReadFile(sample).Single(), Guid.NewGuid().ToString());
        string[] expected = [.. new IKubernetesObject<V1ObjectMeta>[] { here.Deployment, here.Service, here.Ingress!, here.DisruptionBudget!, here.NetworkPolicy! }
            .Select(o => $"{o.Kind}={o.Metadata.Annotations![DesiredHash.Annotation]}")];

        Assert.Equal(expected, await RenderedHashesAsync(sample));
        Assert.Equal(expected, await RenderedHashesAsync(sample));
    }

    private static async Task<string[]> RenderedHashesAsync(string file)
    {
        var start = new ProcessStartInfo("dotnet", ["exec", OperatorBinary.Dll, "render", "-f", file]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, process.ExitCode);
        var kind = "";
        var hashes = new List<string>();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("kind: ", StringComparison.Ordinal))
            {
                kind = line["kind: ".Length..].Trim();
            }
            else if (line.Trim().StartsWith(DesiredHash.Annotation + ": ", StringComparison.Ordinal))
            {
                hashes.Add($"{kind}={line.Trim()[(DesiredHash.Annotation.Length + 2)..]}");
            }
        }

        return [.. hashes];
    }
}
