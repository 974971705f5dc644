using System.Net;
using System.Runtime.InteropServices;
using KubeApiFake;

namespace LocalCluster.ApiServer;

/// <summary>
/// <c>local-cluster apiserver --state-dir DIR [--port N] [--advertise-address IP] [--node-name NAME]...
/// [--audit-log-path FILE] [--graceful-pod-deletion] [--metrics-backend ADDRESS:PORT] [--verbose]</c>:
/// serves the Kubernetes API (the fake API server of tests/KubeApiFake, as a cluster's:
/// <see cref="FakeKubeApiServerOptions.EmulateCluster"/>) over HTTPS on 127.0.0.1, and on the
/// advertised address when one is given (the bridge's gateway, where Pods reach it: kube-apiserver's
/// <c>--advertise-address</c>), until SIGTERM or Ctrl-C (exit 0). It serves Pods (with logs and exec
/// proxied to the Node's kubelet), Nodes, Endpoints and EndpointSlices besides the operator's kinds;
/// runs the ServiceAccount admission plugin, TokenRequest, the <c>default</c> ServiceAccount and
/// <c>kube-root-ca.crt</c> of every namespace, and the <c>kubernetes</c> Service whose Endpoints
/// hold the advertised address and the port; serves <c>pods/eviction</c>, <c>pods/binding</c>
/// and aggregated APIs (APIService objects). <c>--graceful-pod-deletion</c> keeps a deleted Pod
/// until it is deleted again with grace period 0, as a real API server does
/// (<see cref="FakeKubeApiServerOptions.GracefulPodDeletion"/>; for a kubelet that does so).
/// <c>--metrics-backend ADDRESS:PORT</c> registers <c>metrics.k8s.io</c> as metrics-server's
/// manifest does, its Service's Endpoints holding ADDRESS:PORT, where the API server then proxies
/// <c>/apis/metrics.k8s.io/...</c> over plain HTTP (<see cref="MetricsServerRegistration"/>). Authentication and RBAC (with the Node authorizer
/// and NodeRestriction) are on: every request must carry a known bearer token (401 otherwise).
/// With <c>--audit-log-path</c>, every answered request is a line of <see cref="AuditLog"/> (who
/// asked, the verb, the URI and the answer's code).
/// Once it serves, it writes into DIR (each file readable by its owner only, written aside and
/// renamed into place, so a file that exists is complete):
/// <list type="bullet">
/// <item><c>ca.crt</c>: the cluster's certificate authority (PEM), as /etc/kubernetes/pki/ca.crt;</item>
/// <item><c>token</c>: the administrator's token (<c>kubernetes-admin</c> in <c>system:masters</c>, new at every start);</item>
/// <item><c>kubelet-&lt;node-name&gt;.kubeconfig</c> for each <c>--node-name</c> (repeat the flag for several
/// nodes; default one, <c>local-cluster</c>), and <c>kubelet.kubeconfig</c> for the first: each kubelet's own credential,
/// <c>system:node:&lt;node-name&gt;</c> in <c>system:nodes</c>, which the Node authorizer keeps to its Node, its Pods,
/// what they use and their ServiceAccount tokens (a node's credential is refused another node's objects);</item>
/// <item><c>kubeconfig</c>, last: the administrator's (server URL on 127.0.0.1, the authority as
/// <c>certificate-authority-data</c>, the admin token). The contract hack/local-cluster.sh and the
/// kubelet rely on is that it appears only when the server answers.</item>
/// </list>
/// </summary>
internal static class ApiServerCommand
{
    private const string UsageText =
        "usage: local-cluster apiserver --state-dir DIR [--port N] [--advertise-address IP] [--node-name NAME]... [--audit-log-path FILE] [--graceful-pod-deletion] [--metrics-backend ADDRESS:PORT] [--verbose]";

    /// <summary>The node name of the kubelet's credential when none is given (the local cluster's one Node).</summary>
    internal const string DefaultNodeName = "local-cluster";

    /// <summary>Parsed command line.</summary>
    internal sealed record Settings(string StateDir, int Port, IPAddress? AdvertiseAddress, string NodeName, bool Verbose, string? AuditLogPath = null)
    {
        /// <summary>Every <c>--node-name</c>, in order (<see cref="NodeName"/> is the first).</summary>
        public IReadOnlyList<string> NodeNames { get; init; } = [];

        /// <summary><c>--graceful-pod-deletion</c>.</summary>
        public bool GracefulPodDeletion { get; init; }

        /// <summary><c>--metrics-backend</c>: where metrics.k8s.io is served, or null.</summary>
        public IPEndPoint? MetricsBackend { get; init; }
    }

    /// <summary>Parses the flags; null (after printing why) when they are wrong.</summary>
    internal static Settings? Parse(IReadOnlyList<string> args)
    {
        string? stateDir = null;
        var port = 0;
        IPAddress? advertise = null;
        var nodeNames = new List<string>();
        var verbose = false;
        var graceful = false;
        IPEndPoint? metrics = null;
        string? auditLog = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--state-dir" when i + 1 < args.Count:
                    stateDir = args[++i];
                    break;
                case "--port" when i + 1 < args.Count && int.TryParse(args[i + 1], out var p) && p is >= 0 and <= 65535:
                    port = p;
                    i++;
                    break;
                case "--advertise-address" when i + 1 < args.Count:
                    if (!IPAddress.TryParse(args[++i], out advertise))
                    {
                        Console.Error.WriteLine($"apiserver: --advertise-address: '{args[i]}' is not an IP address");
                        return null;
                    }
                    break;
                case "--node-name" when i + 1 < args.Count && args[i + 1].Length > 0:
                    if (nodeNames.Contains(args[i + 1]))
                    {
                        Console.Error.WriteLine($"apiserver: --node-name {args[i + 1]} given twice");
                        return null;
                    }
                    nodeNames.Add(args[++i]);
                    break;
                case "--graceful-pod-deletion":
                    graceful = true;
                    break;
                case "--metrics-backend" when i + 1 < args.Count:
                    if (!IPEndPoint.TryParse(args[++i], out metrics) || metrics.Port == 0)
                    {
                        Console.Error.WriteLine($"apiserver: --metrics-backend: '{args[i]}' is not ADDRESS:PORT (an IP address and a port)");
                        return null;
                    }
                    break;
                case "--audit-log-path" when i + 1 < args.Count && args[i + 1].Length > 0:
                    auditLog = args[++i];
                    break;
                case "--verbose" or "-v":
                    verbose = true;
                    break;
                default:
                    Console.Error.WriteLine($"apiserver: unexpected argument '{args[i]}'");
                    return null;
            }
        }
        if (stateDir is null)
        {
            Console.Error.WriteLine("apiserver: --state-dir is required");
            return null;
        }
        if (nodeNames.Count == 0) nodeNames.Add(DefaultNodeName);
        return new Settings(stateDir, port, advertise, nodeNames[0], verbose, auditLog) { GracefulPodDeletion = graceful, MetricsBackend = metrics, NodeNames = nodeNames };
    }

    /// <summary>Runs the server; returns the process exit code (0 after SIGTERM/Ctrl-C, 2 for bad flags, 1 when it cannot listen).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (Parse(args) is not { } settings)
        {
            Console.Error.WriteLine(UsageText);
            return 2;
        }

        Directory.CreateDirectory(settings.StateDir);
        var kubeconfig = Path.Combine(settings.StateDir, "kubeconfig");
        File.Delete(kubeconfig);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var audit = settings.AuditLogPath is { } auditPath ? new AuditLog(auditPath) : null;

        var options = new FakeKubeApiServerOptions
        {
            EmulateCluster = true,
            GracefulPodDeletion = settings.GracefulPodDeletion,
            AdvertiseAddress = settings.AdvertiseAddress,
            UseTls = true,
            EnableAuthorization = true,
            Port = settings.Port,
            // Nothing lives long enough here for the request log to matter; keep it small.
            RequestLogLimit = 1000,
            AccessLog = settings.Verbose ? line => Console.Error.WriteLine(line) : null,
            RequestObserver = audit is null ? null : audit.Write,
        };
        FakeKubeApiServer api;
        try
        {
            api = await FakeKubeApiServer.StartAsync(options, stop.Token);
        }
        catch (IOException e)
        {
            var where = settings.AdvertiseAddress is { } a ? $"127.0.0.1 and {a}" : "127.0.0.1";
            Console.Error.WriteLine($"apiserver: cannot listen on {where}, port {settings.Port}: {e.Message}");
            return 1;
        }

        await using (api)
        {
            if (settings.MetricsBackend is { } backend)
            {
                await api.ApplyAsync(MetricsServerRegistration.Yaml(backend), "local-cluster", stop.Token);
            }
            WritePrivate(Path.Combine(settings.StateDir, "ca.crt"), api.CertificateAuthorityPem!);
            WritePrivate(Path.Combine(settings.StateDir, "token"), api.AdminToken + "\n");
            foreach (var node in settings.NodeNames)
            {
                var nodeToken = api.IssueToken($"system:node:{node}", KubeUser.NodesGroup);
                WritePrivate(Path.Combine(settings.StateDir, $"kubelet-{node}.kubeconfig"), api.KubeconfigYaml("default", nodeToken));
                if (node == settings.NodeName) WritePrivate(Path.Combine(settings.StateDir, "kubelet.kubeconfig"), api.KubeconfigYaml("default", nodeToken));
            }
            WritePrivate(kubeconfig, api.KubeconfigYaml());
            var advertised = $"https://{api.AdvertisedAddress}:{api.BaseAddress.Port}/";
            Console.Error.WriteLine($"apiserver: serving {api.BaseAddress} (Pods: {advertised}); kubeconfig {kubeconfig}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            Console.Error.WriteLine("apiserver: stopping");
        }
        return 0;
    }

    /// <summary>Writes a file readable by its owner only, atomically (write aside, then rename).</summary>
    private static void WritePrivate(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
