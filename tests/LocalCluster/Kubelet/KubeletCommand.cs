using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using k8s;
using LocalCluster.Ingress;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// <c>local-cluster kubelet --state-dir DIR [--image-store DIR] [--bridge NAME] [--gateway IP/PREFIX]
/// [--ingress-http-port N] [--ingress-https-port N]</c>: runs Deployments as Pods whose containers
/// are OCI containers run by runc (images from the node's image store, default
/// <c>&lt;repo&gt;/.local/image-store</c>) in network namespaces, keeps Endpoints, and serves
/// Ingresses of class nginx. It talks to the API server with two credentials that
/// <c>local-cluster apiserver</c> writes: <c>DIR/kubelet.kubeconfig</c>, the node's own, for what a
/// kubelet does (its Node, Lease and Pods), and <c>DIR/kubeconfig</c>, the administrator's, for the
/// controllers. It registers the Node and serves <c>/containerLogs</c>, <c>/exec</c> and
/// <c>/attach</c> on the gateway's address (a free port, in the Node's
/// <c>daemonEndpoints</c>). Once it serves, it writes <c>DIR/ingress.env</c>
/// (<c>INGRESS_HTTP_PORT=</c>, <c>INGRESS_HTTPS_PORT=</c>) and then <c>DIR/kubelet.ready</c>. SIGTERM stops every Pod (containers, volumes, cgroups,
/// namespaces) and nginx before it exits; at start it removes what a kubelet killed before its
/// clean-up left (runc containers, mounts, cgroups, namespaces).
/// </summary>
internal static class KubeletCommand
{
    private const string Usage = "usage: local-cluster kubelet --state-dir DIR [--image-store DIR] [--bridge NAME] [--gateway IP/PREFIX] [--ingress-http-port N] [--ingress-https-port N]";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["--bridge"] = "uapi0",
            ["--gateway"] = "10.244.0.1/24",
            ["--ingress-http-port"] = "0",
            ["--ingress-https-port"] = "0",
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
        var images = options.GetValueOrDefault("--image-store") ?? Path.Combine(RepositoryRoot(AppContext.BaseDirectory), ".local", "image-store");
        var gateway = options["--gateway"].Split('/');

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        // The API server writes kubelet.kubeconfig before kubeconfig, which appears last.
        var kubeconfig = Path.Combine(stateDir, "kubeconfig");
        var nodeKubeconfig = Path.Combine(stateDir, "kubelet.kubeconfig");
        for (var i = 0; !File.Exists(kubeconfig); i++)
        {
            if (i == 300 || stop.IsCancellationRequested)
            {
                Console.Error.WriteLine($"kubelet: no {kubeconfig} after 30 s (is the API server running?)");
                return 1;
            }
            await Task.Delay(100);
        }

        await RemoveLeftoversAsync(stateDir);
        foreach (var stale in await PodNetwork.ListNamespacesAsync())
        {
            Log.Write($"kubelet: removing namespace {stale} left by an earlier run");
            await PodNetwork.TearDownAsync(stale);
        }
        var network = new PodNetwork(options["--bridge"], IPAddress.Parse(gateway[0]), int.Parse(gateway[1], CultureInfo.InvariantCulture));
        await network.CheckAsync();

        var http = Port(options["--ingress-http-port"]);
        var https = Port(options["--ingress-https-port"]);
        if (!File.Exists(nodeKubeconfig))
        {
            Console.Error.WriteLine($"kubelet: no {nodeKubeconfig}, the node's credential (local-cluster apiserver writes it)");
            return 1;
        }
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        using var client = new Kubernetes(config);
        using var nodeClient = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(nodeKubeconfig));
        var kubelet = new Kubelet(client, nodeClient, stateDir, new ImageStore(images), network,
            new NginxOptions(http, https, Path.Combine(stateDir, "nginx")));
        Log.Write($"kubelet: API server {config.Host}; image store {images}; bridge {options["--bridge"]} {options["--gateway"]}");
        try
        {
            await kubelet.RunAsync(() =>
            {
                File.WriteAllText(Path.Combine(stateDir, "ingress.env"), $"INGRESS_HTTP_PORT={http}\nINGRESS_HTTPS_PORT={https}\n");
                File.WriteAllText(Path.Combine(stateDir, "kubelet.ready"), "");
                Log.Write($"kubelet: ready; Ingress on http://127.0.0.1:{http} and https://127.0.0.1:{https}");
            }, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        Log.Write("kubelet: stopped");
        return 0;
    }

    /// <summary>
    /// What a kubelet that died without its clean-up left in <paramref name="stateDir"/>: runc's
    /// containers (killed and deleted), the overlay and tmpfs mounts of bundles and volumes, and the
    /// cluster's cgroups. hack/local-cluster.sh down does the same in shell.
    /// </summary>
    private static async Task RemoveLeftoversAsync(string stateDir)
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
        Cgroups.RemoveTree(ContainerConfig.ClusterCgroup);
    }

    /// <summary>The given port, or a free loopback port for 0.</summary>
    private static int Port(string text)
    {
        var port = int.Parse(text, CultureInfo.InvariantCulture);
        if (port != 0) return port;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
