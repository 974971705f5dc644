using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using k8s;
using LocalCluster.Ingress;

namespace LocalCluster.Kubelet;

/// <summary>
/// <c>local-cluster kubelet --state-dir DIR [--images FILE] [--bridge NAME] [--gateway IP/PREFIX]
/// [--ingress-http-port N] [--ingress-https-port N]</c>: runs Deployments as Pods of processes in
/// network namespaces, keeps Endpoints, and serves Ingresses of class nginx, talking to the API
/// server only through <c>DIR/kubeconfig</c>. Once it serves, it writes <c>DIR/ingress.env</c>
/// (<c>INGRESS_HTTP_PORT=</c>, <c>INGRESS_HTTPS_PORT=</c>) and then <c>DIR/kubelet.ready</c>.
/// SIGTERM stops every Pod (processes, namespaces) and nginx before it exits.
/// </summary>
internal static class KubeletCommand
{
    private const string Usage = "usage: local-cluster kubelet --state-dir DIR [--images FILE] [--bridge NAME] [--gateway IP/PREFIX] [--ingress-http-port N] [--ingress-https-port N]";

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
        var images = options.GetValueOrDefault("--images") ?? Path.Combine(RepositoryRoot(AppContext.BaseDirectory), "hack", "local-cluster", "images.yaml");
        var repo = RepositoryRoot(Path.GetDirectoryName(Path.GetFullPath(images))!);
        var gateway = options["--gateway"].Split('/');

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        var kubeconfig = Path.Combine(stateDir, "kubeconfig");
        for (var i = 0; !File.Exists(kubeconfig); i++)
        {
            if (i == 300 || stop.IsCancellationRequested)
            {
                Console.Error.WriteLine($"kubelet: no {kubeconfig} after 30 s (is the API server running?)");
                return 1;
            }
            await Task.Delay(100);
        }

        foreach (var stale in await PodNetwork.ListNamespacesAsync())
        {
            Log.Write($"kubelet: removing namespace {stale} left by an earlier run");
            await PodNetwork.TearDownAsync(stale);
        }
        var network = new PodNetwork(options["--bridge"], IPAddress.Parse(gateway[0]), int.Parse(gateway[1], CultureInfo.InvariantCulture));
        await network.CheckAsync();

        var http = Port(options["--ingress-http-port"]);
        var https = Port(options["--ingress-https-port"]);
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        using var client = new Kubernetes(config);
        var kubelet = new Kubelet(client, stateDir, ImageTable.Load(images, repo, stateDir), network,
            new NginxOptions(http, https, Path.Combine(stateDir, "nginx")));
        Log.Write($"kubelet: API server {config.Host}; images {images}; bridge {options["--bridge"]} {options["--gateway"]}");
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
