using System.Runtime.InteropServices;
using KubeApiFake;

namespace LocalCluster.ApiServer;

/// <summary>
/// <c>local-cluster apiserver --state-dir DIR [--port N] [--verbose]</c>: serves the Kubernetes API
/// (the fake API server of tests/KubeApiFake) over HTTPS on 127.0.0.1 until SIGTERM or Ctrl-C (exit
/// 0), with the kinds a kubelet needs (Pods, Endpoints, EndpointSlices) served besides the
/// operator's. Authentication and RBAC are on: every request must carry a known bearer token (401
/// otherwise); the cluster administrator's token (<c>kubernetes-admin</c> in <c>system:masters</c>,
/// a new random one per start) is written to <c>DIR/token</c>. Once it serves, it writes
/// <c>DIR/kubeconfig</c> (server URL, the generated authority as <c>certificate-authority-data</c>,
/// the admin token): the contract hack/local-cluster.sh and the kubelet rely on is a file that
/// appears only when the server answers.
/// </summary>
internal static class ApiServerCommand
{
    private const string UsageText = "usage: local-cluster apiserver --state-dir DIR [--port N] [--verbose]";

    /// <summary>Kinds a real cluster serves that the kubelet and kubectl need.</summary>
    internal static readonly ResourceType[] ClusterResources =
    [
        new("", "v1", "pods", "Pod", Namespaced: true) { HasStatusSubresource = true, ShortNames = ["po"], Categories = ["all"] },
        new("", "v1", "endpoints", "Endpoints", Namespaced: true) { ShortNames = ["ep"] },
        new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", Namespaced: true),
    ];

    /// <summary>Parsed command line.</summary>
    internal sealed record Settings(string StateDir, int Port, bool Verbose);

    /// <summary>Parses the flags; null (after printing why) when they are wrong.</summary>
    internal static Settings? Parse(IReadOnlyList<string> args)
    {
        string? stateDir = null;
        var port = 0;
        var verbose = false;
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
        return new Settings(stateDir, port, verbose);
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

        var options = new FakeKubeApiServerOptions
        {
            AdditionalResources = ClusterResources,
            UseTls = true,
            EnableAuthorization = true,
            Port = settings.Port,
            // Nothing lives long enough here for the request log to matter; keep it small.
            RequestLogLimit = 1000,
            AccessLog = settings.Verbose ? line => Console.Error.WriteLine(line) : null,
        };
        FakeKubeApiServer api;
        try
        {
            api = await FakeKubeApiServer.StartAsync(options, stop.Token);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"apiserver: cannot listen on 127.0.0.1:{settings.Port}: {e.Message}");
            return 1;
        }

        await using (api)
        {
            WritePrivate(Path.Combine(settings.StateDir, "token"), api.AdminToken + "\n");
            WritePrivate(kubeconfig, api.KubeconfigYaml());
            Console.Error.WriteLine($"apiserver: serving {api.BaseAddress}; kubeconfig {kubeconfig}");
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
