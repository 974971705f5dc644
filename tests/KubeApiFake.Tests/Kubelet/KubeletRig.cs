using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using LocalCluster.KubeletServer;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// A node for tests: the fake API server as a cluster's (HTTPS, RBAC, <c>EmulateCluster</c>), the
/// kubelet's server on loopback with <see cref="HostProcessRuntime"/>, a Node <c>n1</c> whose
/// InternalIP and kubelet port lead to it, and real kubectl with the administrator's kubeconfig. The
/// kubelet's view of a Pod is the API server's (what the kubelet wrote last); its logs live under
/// <see cref="LogsRoot"/> in the kubelet's layout.
/// </summary>
internal sealed class KubeletRig : IAsyncDisposable, IKubeletHost
{
    public const string NodeName = "n1";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly List<string> _kubeletLog = [];

    private KubeletRig(FakeKubeApiServer api, string directory, IContainerRuntime? runtime)
    {
        Api = api;
        ContainerRuntime = runtime ?? Runtime;
        Directory = directory;
        LogsRoot = System.IO.Directory.CreateDirectory(Path.Combine(directory, "pods")).FullName;
        Kubeconfig = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(Kubeconfig, api.KubeconfigYaml());
    }

    public FakeKubeApiServer Api { get; }

    /// <summary>The runtime of host processes the rig's Pods run with by default.</summary>
    public HostProcessRuntime Runtime { get; } = new();

    /// <summary>The runtime the kubelet's server uses: <see cref="Runtime"/>, or the one given to <see cref="StartAsync"/>.</summary>
    public IContainerRuntime ContainerRuntime { get; }

    public KubeletServer Server { get; private set; } = null!;

    public string Directory { get; }

    public string LogsRoot { get; }

    public string Kubeconfig { get; }

    string IKubeletHost.PodLogsRoot => LogsRoot;

    /// <summary>
    /// Starts the rig. The machine's kubectl is a dispatcher that runs the kubectl of the server's minor
    /// version, so <paramref name="gitVersion"/> chooses the kubectl under test too.
    /// </summary>
    public static async Task<KubeletRig> StartAsync(IContainerRuntime? runtime = null, string gitVersion = "v1.31.0")
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("kubelet-rig-").FullName;
        var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions
        {
            UseTls = true,
            EnableAuthorization = true,
            EmulateCluster = true,
            GitVersion = gitVersion,
        });
        var rig = new KubeletRig(api, directory, runtime);
        rig.Server = await KubeletServer.StartAsync(rig, rig.ContainerRuntime, new KubeletServerOptions
        {
            Port = 0,
            Log = line => { lock (rig._kubeletLog) rig._kubeletLog.Add(line); },
        });
        using var http = api.CreateClient();
        var node = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = NodeName },
        };
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/api/v1/nodes", node)).Code);
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" }),
                ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = rig.Server.Endpoint.Port } },
            },
        };
        Assert.Equal(HttpStatusCode.OK, (await http.MergePatchAsync($"/api/v1/nodes/{NodeName}/status", status)).Code);
        return rig;
    }

    /// <summary>The kubelet's requests so far, one line each.</summary>
    public string KubeletLog
    {
        get
        {
            lock (_kubeletLog) return string.Join('\n', _kubeletLog);
        }
    }

    public V1Pod? GetPodByName(string @namespace, string name) =>
        Api.Store.FindResource("", "v1", "pods") is null || Api.Store.Get(KnownResources.Pods, @namespace, name) is not { } pod
            ? null
            : KubernetesJson.Deserialize<V1Pod>(pod.ToJsonString());

    /// <summary>
    /// A Pod on <see cref="NodeName"/> whose containers run (container id <c>runc://&lt;pod&gt;-&lt;container&gt;-0</c>),
    /// as the kubelet reports them, with an empty first log file each.
    /// </summary>
    public async Task<JsonObject> RunPodAsync(string name, string[] containers, JsonObject? labels = null, string ns = "default", string? containerId = null)
    {
        var pod = ServiceAccountAdmissionTests.Pod(name, containers, nodeName: NodeName);
        if (labels is not null) pod["metadata"]!["labels"] = labels;
        using var http = Api.CreateClient();
        var (code, created) = await http.PostJsonAsync($"/api/v1/namespaces/{ns}/pods", pod);
        Assert.Equal(HttpStatusCode.Created, code);
        foreach (var container in containers)
        {
            Runtime.Set(ContainerId(name, container, 0), running: true);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(LogFile(created, container, 0))!);
            File.WriteAllText(LogFile(created, container, 0), "");
        }
        return Api.Store.UpdateStatus(KnownResources.Pods, ns, name, p => p["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray([.. containers.Select(c => (JsonNode)RunningStatus(name, c, 0, containerId))]),
        })!;
    }

    /// <summary>Container <paramref name="container"/> of the Pod restarted: instance <paramref name="restarts"/> runs, the one before it terminated.</summary>
    public JsonObject Restart(JsonObject pod, string container, int restarts, int exitCode = 1)
    {
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        var ns = pod["metadata"]!["namespace"]!.GetValue<string>();
        Runtime.Set(ContainerId(name, container, restarts - 1), running: false);
        Runtime.Set(ContainerId(name, container, restarts), running: true);
        File.WriteAllText(LogFile(pod, container, restarts), "");
        return Api.Store.UpdateStatus(KnownResources.Pods, ns, name, p =>
        {
            var statuses = p["status"]!["containerStatuses"]!.AsArray();
            var index = statuses.Select((s, i) => (s, i)).Single(x => x.s!["name"]!.GetValue<string>() == container).i;
            var status = RunningStatus(name, container, restarts);
            status["lastState"] = new JsonObject
            {
                ["terminated"] = new JsonObject
                {
                    ["exitCode"] = exitCode,
                    ["reason"] = "Error",
                    ["containerID"] = "runc://" + ContainerId(name, container, restarts - 1),
                },
            };
            statuses[index] = status;
        })!;
    }

    public static string ContainerId(string pod, string container, int instance) => $"{pod}-{container}-{instance}";

    public string LogFile(JsonObject pod, string container, int instance) =>
        Path.Combine(LogsRoot, $"{pod["metadata"]!["namespace"]}_{pod["metadata"]!["name"]}_{pod["metadata"]!["uid"]}", container, $"{instance}.log");

    /// <summary>Appends entries in the CRI format, as the runtime's log writer does.</summary>
    public static void AppendLog(string file, params (DateTimeOffset Time, string Stream, string Text)[] lines)
    {
        var text = new StringBuilder();
        foreach (var (time, stream, line) in lines) text.Append($"{ContainerLogReader.FormatTimestamp(time)} {stream} F {line}\n");
        File.AppendAllText(file, text.ToString());
    }

    private static JsonObject RunningStatus(string pod, string container, int restarts, string? containerId = null) => new()
    {
        ["name"] = container,
        ["ready"] = true,
        ["restartCount"] = restarts,
        ["image"] = "busybox",
        ["containerID"] = "runc://" + (containerId ?? ContainerId(pod, container, restarts)),
        ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-01-01T00:00:00Z" } },
    };

    /// <summary>Runs kubectl to its end; returns its exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> KubectlAsync(string[] args, string? stdin = null)
    {
        using var process = Process.Start(KubectlStart(args, stdin is not null))!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl {string.Join(' ', args)} did not end within {CommandTimeout}; kubelet: {KubeletLog}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>How to start kubectl against this rig (for tests that drive it while it runs).</summary>
    public ProcessStartInfo KubectlStart(IEnumerable<string> args, bool stdin = false)
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin,
            Environment =
            {
                ["KUBECONFIG"] = Kubeconfig,
                ["KUBECACHEDIR"] = Path.Combine(Directory, "kubectl-cache"),
                ["HOME"] = Directory,
            },
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Api.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
