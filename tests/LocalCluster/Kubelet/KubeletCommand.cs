using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using k8s;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// <c>local-cluster kubelet --state-dir DIR [--node-name NAME] [--root-dir DIR] [--kubeconfig FILE]
/// [--image-store DIR] [--bridge NAME] [--gateway IP/PREFIX] [--pod-cidr IP/PREFIX] [--zone ZONE]
/// [--node-cpu QUANTITY] [--node-memory QUANTITY]</c>: one node of the local cluster. It runs the
/// Pods bound to its node (<c>spec.nodeName</c>) as OCI containers run by runc (images from the
/// node's image store, default <c>&lt;repo&gt;/.local/image-store</c>) in network namespaces on the
/// shared bridge, registers the Node and keeps its status and Lease, and serves
/// <c>/containerLogs</c>, <c>/exec</c> and <c>/attach</c> on the gateway's address (a free port
/// of its own, in the Node's <c>daemonEndpoints</c>). Flags as the real kubelet's where it has them:
/// <list type="bullet">
/// <item><c>--node-name</c> (default <c>local-cluster</c>): the Node, its <c>kubernetes.io/hostname</c> label;</item>
/// <item><c>--root-dir</c> (default DIR): runc's state, bundles, volumes, Pod logs (<c>pods/</c>) and
/// <c>kubelet.ready</c>; each node has its own;</item>
/// <item><c>--kubeconfig</c>: the node's own credential (default <c>DIR/kubelet.kubeconfig</c> for
/// <c>local-cluster</c>, else <c>DIR/kubelet-&lt;node&gt;.kubeconfig</c>, which
/// <c>local-cluster apiserver --node-name</c> writes); DIR/kubeconfig, the administrator's, is used
/// for the Endpoints cache and the Pod finalizer;</item>
/// <item><c>--pod-cidr</c>: the Node's <c>spec.podCIDR</c>, where its Pods' addresses come from
/// (default: the bridge's whole subnet);</item>
/// <item><c>--zone</c>: the <c>topology.kubernetes.io/zone</c> label;</item>
/// <item><c>--node-cpu</c>, <c>--node-memory</c>: capacity (default the machine's cores and MemTotal);
/// allocatable is capacity minus the default eviction threshold for memory.</item>
/// </list>
/// The Pods' cgroups go under <see cref="NodeCgroups.Root"/>. Once it serves, it writes
/// <c>ROOT/kubelet.ready</c>. SIGTERM stops every Pod of the node (containers, volumes, cgroups,
/// namespaces) before it exits; at start it removes what a kubelet of this node killed before its
/// clean-up left (runc containers, mounts, cgroups, the namespaces it recorded).
/// </summary>
internal static class KubeletCommand
{
    private const string Usage = "usage: local-cluster kubelet --state-dir DIR [--node-name NAME] [--root-dir DIR] [--kubeconfig FILE] [--image-store DIR] [--bridge NAME] [--gateway IP/PREFIX] "
        + "[--pod-cidr IP/PREFIX] [--zone ZONE] [--node-cpu QUANTITY] [--node-memory QUANTITY]";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["--bridge"] = "uapi0",
            ["--gateway"] = "10.244.0.1/24",
            ["--node-name"] = Kubelet.DefaultNodeName,
        };
        for (var i = 0; i + 1 < args.Count; i += 2) options[args[i]] = args[i + 1];
        if (args.Count % 2 != 0 || !options.TryGetValue("--state-dir", out var stateDir))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (!Host.IsRoot)
        {
            Console.Error.WriteLine("kubelet: network namespaces need root (or CAP_NET_ADMIN and CAP_SYS_ADMIN); run as root");
            return 1;
        }
        stateDir = Path.GetFullPath(stateDir);
        var nodeName = options["--node-name"];
        var rootDir = Path.GetFullPath(options.GetValueOrDefault("--root-dir") ?? stateDir);
        (IPAddress, int)? podCidr = null;
        if (options.TryGetValue("--pod-cidr", out var cidrText))
        {
            var cidr = cidrText.Split('/');
            if (cidr.Length != 2 || !IPAddress.TryParse(cidr[0], out var cidrAddress) || !int.TryParse(cidr[1], CultureInfo.InvariantCulture, out var cidrPrefix) || cidrPrefix is < 24 or > 30)
            {
                Console.Error.WriteLine($"kubelet: --pod-cidr: '{cidrText}' is not IP/PREFIX with a prefix from 24 to 30");
                return 2;
            }
            podCidr = (cidrAddress, cidrPrefix);
        }
        foreach (var flag in (string[])["--node-cpu", "--node-memory"])
        {
            if (options.TryGetValue(flag, out var quantity) && !IsQuantity(quantity))
            {
                Console.Error.WriteLine($"kubelet: {flag}: '{quantity}' is not a quantity (e.g. 2, 1500m, 4Gi)");
                return 2;
            }
        }
        Directory.CreateDirectory(rootDir);
        var images = options.GetValueOrDefault("--image-store") ?? Path.Combine(RepositoryRoot(AppContext.BaseDirectory), ".local", "image-store");
        var gateway = options["--gateway"].Split('/');

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        // The API server writes the kubelets' kubeconfigs before kubeconfig, which appears last.
        var kubeconfig = Path.Combine(stateDir, "kubeconfig");
        var nodeKubeconfig = options.GetValueOrDefault("--kubeconfig")
            ?? Path.Combine(stateDir, nodeName == Kubelet.DefaultNodeName ? "kubelet.kubeconfig" : $"kubelet-{nodeName}.kubeconfig");
        for (var i = 0; !File.Exists(kubeconfig); i++)
        {
            if (i == 300 || stop.IsCancellationRequested)
            {
                Console.Error.WriteLine($"kubelet: no {kubeconfig} after 30 s (is the API server running?)");
                return 1;
            }
            await Task.Delay(100);
        }

        var cgroupRoot = NodeCgroups.Root(nodeName);
        await RemoveLeftoversAsync(rootDir, cgroupRoot);
        var network = new PodNetwork(options["--bridge"], IPAddress.Parse(gateway[0]), int.Parse(gateway[1], CultureInfo.InvariantCulture),
            podCidr, Path.Combine(rootDir, "netns"));
        foreach (var stale in await network.ListLeftoversAsync())
        {
            Log.Write($"kubelet: removing namespace {stale} left by an earlier run");
            await network.RemoveAsync(stale);
        }
        await network.CheckAsync();

        if (!File.Exists(nodeKubeconfig))
        {
            Console.Error.WriteLine($"kubelet: no {nodeKubeconfig}, the node's credential (local-cluster apiserver writes it)");
            return 1;
        }
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        using var client = new Kubernetes(config);
        using var nodeClient = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(nodeKubeconfig));
        var settings = new KubeletSettings(nodeName, rootDir, cgroupRoot, options.GetValueOrDefault("--zone"),
            options.GetValueOrDefault("--node-cpu"), options.GetValueOrDefault("--node-memory"));
        var kubelet = new Kubelet(client, nodeClient, settings, new ImageStore(images), network);
        Log.Write($"kubelet: node {nodeName}; root {rootDir}; API server {config.Host}; image store {images}; bridge {options["--bridge"]} {options["--gateway"]}, Pods {network.PodCidr}");
        try
        {
            await kubelet.RunAsync(() =>
            {
                File.WriteAllText(Path.Combine(rootDir, "kubelet.ready"), "");
                Log.Write($"kubelet: node {nodeName} ready");
            }, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        Log.Write("kubelet: stopped");
        return 0;
    }

    /// <summary>
    /// What a kubelet of this node that died without its clean-up left in <paramref name="stateDir"/>
    /// (its root directory): runc's containers (killed and deleted), the overlay and tmpfs mounts of
    /// bundles and volumes, and the Pods' cgroups under <paramref name="cgroupRoot"/> (those of other
    /// nodes, below it when this is the first node, are left alone). hack/local-cluster.sh down does
    /// the same in shell for every node.
    /// </summary>
    private static async Task RemoveLeftoversAsync(string stateDir, string cgroupRoot)
    {
        var runc = new Runc(Path.Combine(stateDir, "runc"));
        foreach (var (id, _, _) in await runc.ListAsync())
        {
            Log.Write($"kubelet: removing container {id} left by an earlier run");
            await runc.KillAsync(id, "KILL", all: true);
            await runc.DeleteAsync(id);
        }
        foreach (var dir in new[] { "containers", "kubelet" })
        {
            foreach (var mount in Native.MountsUnder(Path.Combine(stateDir, dir))) Native.Unmount(mount);
            if (Directory.Exists(Path.Combine(stateDir, dir))) await Host.RunAsync("rm", ["-rf", "--one-file-system", Path.Combine(stateDir, dir)]);
        }
        foreach (var hierarchy in Directory.Exists(Cgroups.Root) ? Directory.GetDirectories(Cgroups.Root) : [])
        {
            var root = Path.Combine(hierarchy, cgroupRoot.TrimStart('/'));
            if (!Directory.Exists(root)) continue;
            foreach (var pod in Directory.GetDirectories(root, "pod*")) Cgroups.RemoveTree($"{cgroupRoot}/{Path.GetFileName(pod)}");
        }
    }

    /// <summary>True when <paramref name="text"/> is a positive resource quantity.</summary>
    private static bool IsQuantity(string text)
    {
        try
        {
            return new k8s.Models.ResourceQuantity(text).ToDecimal() > 0;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>The nearest directory at or above <paramref name="start"/> holding UserApiOperator.sln.</summary>
    private static string RepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "UserApiOperator.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no UserApiOperator.sln above {start}");
    }
}
