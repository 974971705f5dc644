using KubeApiFake;

namespace LocalCluster.ApiServer;

/// <summary>
/// <c>local-cluster apiserver --state-dir DIR</c>: serves the Kubernetes API (the fake API server of
/// tests/KubeApiFake) on loopback until SIGTERM or Ctrl-C, with the kinds a kubelet needs (Pods,
/// Endpoints) served besides the operator's. Once it serves, it writes <c>DIR/kubeconfig</c> (the
/// contract hack/local-cluster.sh and the kubelet rely on: a file that appears only when the server
/// answers).
/// </summary>
internal static class ApiServerCommand
{
    /// <summary>Kinds a real cluster serves that the kubelet and kubectl need.</summary>
    internal static readonly ResourceType[] ClusterResources =
    [
        new("", "v1", "pods", "Pod", Namespaced: true) { HasStatusSubresource = true, ShortNames = ["po"], Categories = ["all"] },
        new("", "v1", "endpoints", "Endpoints", Namespaced: true) { ShortNames = ["ep"] },
    ];

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (args is not ["--state-dir", var stateDir])
        {
            Console.Error.WriteLine("usage: local-cluster apiserver --state-dir DIR");
            return 2;
        }

        Directory.CreateDirectory(stateDir);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        await using var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { AdditionalResources = ClusterResources });
        var kubeconfig = Path.Combine(stateDir, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig + ".tmp", api.KubeconfigYaml());
        File.Move(kubeconfig + ".tmp", kubeconfig, overwrite: true);
        Console.Error.WriteLine($"apiserver: serving {api.BaseAddress}; kubeconfig {kubeconfig}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
