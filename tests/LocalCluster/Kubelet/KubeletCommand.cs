namespace LocalCluster.Kubelet;

/// <summary><c>local-cluster kubelet --state-dir DIR</c>: runs Deployments as Pods of processes in network namespaces.</summary>
internal static class KubeletCommand
{
    public static Task<int> RunAsync(IReadOnlyList<string> args)
    {
        Console.Error.WriteLine($"kubelet: not built yet ({string.Join(' ', args)})");
        return Task.FromResult(1);
    }
}
