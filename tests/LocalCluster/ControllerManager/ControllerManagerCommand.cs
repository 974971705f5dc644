using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using k8s;
using LocalCluster.Controllers.Autoscaling;
using LocalCluster.Controllers.Disruption;
using LocalCluster.Ingress;
using LocalCluster.Kubelet;
using LocalCluster.Metrics;
using LocalCluster.Scheduler;

namespace LocalCluster.ControllerManager;

/// <summary>
/// <c>local-cluster controller-manager --state-dir DIR [--ingress-http-port N] [--ingress-https-port N]
/// [--metrics-bind-address IP:PORT] [--node-monitor-grace-period SECONDS]
/// [--horizontal-pod-autoscaler-sync-period SECONDS] [--horizontal-pod-autoscaler-downscale-stabilization SECONDS]</c>:
/// the cluster's control plane besides the API server, once per cluster whatever the number of
/// nodes, in kube-controller-manager's shape (one process, one loop per controller, one
/// credential: the administrator's <c>DIR/kubeconfig</c>):
/// <list type="bullet">
/// <item>the Deployment, Endpoints and garbage-collection controllers and the nginx Ingress
/// controller (<see cref="ClusterControllers"/>);</item>
/// <item>the scheduler (kube-scheduler's filters and scores, <see cref="SchedulerLoop"/>), binding
/// through <c>pods/binding</c> — a component of its own, with its own caches, as kube-scheduler is
/// its own process;</item>
/// <item>the node lifecycle controller's health monitor (<see cref="NodeLifecycleController"/>);</item>
/// <item>the disruption controller (<see cref="DisruptionController"/>) and the
/// HorizontalPodAutoscaler controller (<see cref="HorizontalPodAutoscalerController"/>);</item>
/// <item>with <c>--metrics-bind-address</c>, metrics-server: usage from every Pod's cgroups
/// (<see cref="CgroupResourceMetrics"/>; all nodes are on this machine, so one reader serves them
/// all), served as <c>metrics.k8s.io</c> on that address (<see cref="MetricsServer"/>) for the API
/// server's <c>--metrics-backend</c>, and read by the HPA controller through the API server
/// (<see cref="MetricsApiClient"/>), as kube-controller-manager reads it.</item>
/// </list>
/// Once the caches are synced and nginx serves, it writes <c>DIR/ingress.env</c>
/// (<c>INGRESS_HTTP_PORT=</c>, <c>INGRESS_HTTPS_PORT=</c>) and then <c>DIR/controller-manager.ready</c>.
/// SIGTERM stops everything (nginx included) and exits 0.
/// </summary>
internal static class ControllerManagerCommand
{
    private const string Usage =
        "usage: local-cluster controller-manager --state-dir DIR [--ingress-http-port N] [--ingress-https-port N] [--metrics-bind-address IP:PORT] "
        + "[--node-monitor-grace-period SECONDS] [--horizontal-pod-autoscaler-sync-period SECONDS] [--horizontal-pod-autoscaler-downscale-stabilization SECONDS]";

    /// <summary>Runs until SIGTERM or Ctrl-C; returns the exit code (2 for bad flags, 1 when it cannot start).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["--ingress-http-port"] = "0",
            ["--ingress-https-port"] = "0",
            ["--node-monitor-grace-period"] = NodeLifecycleController.DefaultGracePeriod.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["--horizontal-pod-autoscaler-sync-period"] = "15",
            ["--horizontal-pod-autoscaler-downscale-stabilization"] = "300",
        };
        for (var i = 0; i + 1 < args.Count; i += 2) options[args[i]] = args[i + 1];
        if (args.Count % 2 != 0 || !options.TryGetValue("--state-dir", out var stateDir)
            || !Seconds(options["--node-monitor-grace-period"], out var grace)
            || !Seconds(options["--horizontal-pod-autoscaler-sync-period"], out var hpaSync)
            || !Seconds(options["--horizontal-pod-autoscaler-downscale-stabilization"], out var downscale))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        IPEndPoint? metricsAddress = null;
        if (options.TryGetValue("--metrics-bind-address", out var bind) && (!IPEndPoint.TryParse(bind, out metricsAddress) || metricsAddress.Port == 0))
        {
            Console.Error.WriteLine($"controller-manager: --metrics-bind-address: '{bind}' is not IP:PORT");
            return 2;
        }
        stateDir = Path.GetFullPath(stateDir);

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        var kubeconfig = Path.Combine(stateDir, "kubeconfig");
        for (var i = 0; !File.Exists(kubeconfig); i++)
        {
            if (i == 300 || stop.IsCancellationRequested)
            {
                Console.Error.WriteLine($"controller-manager: no {kubeconfig} after 30 s (is the API server running?)");
                return 1;
            }
            await Task.Delay(100);
        }
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        using var client = new Kubernetes(config);
        var http = Port(options["--ingress-http-port"]);
        var https = Port(options["--ingress-https-port"]);
        Log.Write($"controller-manager: API server {config.Host}; node monitor grace period {grace.TotalSeconds:0} s; HPA sync {hpaSync.TotalSeconds:0} s, downscale stabilization {downscale.TotalSeconds:0} s");

        var controllers = new ClusterControllers(client, new NginxOptions(http, https, Path.Combine(stateDir, "nginx")));
        var scheduler = new SchedulerLoop(client, new BindingSubresourceBinder(client), new SchedulerLoopOptions { Log = Log.Write });
        var nodeLifecycle = new NodeLifecycleController(client, grace, Log.Write);
        var disruption = new DisruptionController(client, Log.Write);
        var usage = new CgroupResourceMetrics(() => scheduler.Pods.Snapshot(), () => scheduler.Nodes.Snapshot());
        // The HPA controller reads metrics.k8s.io through the API server, as kube-controller-manager
        // does (so it sees what kubectl top sees); without a metrics server, the samples in process.
        IResourceMetrics autoscalerMetrics = metricsAddress is null ? usage : new MetricsApiClient(client);
        var autoscaler = new HorizontalPodAutoscalerController(client, autoscalerMetrics,
            new AutoscalerOptions { SyncPeriod = hpaSync, DownscaleStabilizationWindow = downscale }, Log.Write);

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task[] parts =
        [
            Guard("controllers", controllers.RunAsync(ready.SetResult, stop.Token)),
            Guard("scheduler", scheduler.RunAsync(stop.Token)),
            Guard("node-lifecycle", nodeLifecycle.RunAsync(stop.Token)),
            Guard("disruption", disruption.RunAsync(stop.Token)),
            Guard("horizontal-pod-autoscaler", autoscaler.RunAsync(stop.Token)),
            Guard("metrics", usage.RunAsync(stop.Token)),
        ];
        MetricsServer? metrics = null;
        try
        {
            await Task.WhenAny(ready.Task, Task.WhenAny(parts)).Unwrap().WaitAsync(stop.Token);
            if (!ready.Task.IsCompleted)
            {
                Console.Error.WriteLine("controller-manager: a controller stopped before the cluster controllers were ready (see above)");
                await stop.CancelAsync();
                return 1;
            }
            await scheduler.Nodes.Synced.WaitAsync(stop.Token);
            if (metricsAddress is not null)
            {
                metrics = await MetricsServer.StartAsync(metricsAddress, usage, () => scheduler.Pods.Snapshot(), () => scheduler.Nodes.Snapshot(), stop.Token);
                Log.Write($"controller-manager: metrics.k8s.io served on http://{metricsAddress}");
            }
            File.WriteAllText(Path.Combine(stateDir, "ingress.env"), $"INGRESS_HTTP_PORT={http}\nINGRESS_HTTPS_PORT={https}\n");
            File.WriteAllText(Path.Combine(stateDir, "controller-manager.ready"), "");
            Log.Write($"controller-manager: ready; Ingress on http://127.0.0.1:{http} and https://127.0.0.1:{https}");
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"controller-manager: {e.Message}");
            await stop.CancelAsync();
            return 1;
        }
        finally
        {
            if (metrics is not null) await metrics.DisposeAsync();
        }
        try
        {
            await Task.WhenAll(parts);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Guard logged it.
        }
        Log.Write("controller-manager: stopped");
        return 0;
    }

    /// <summary>Logs how a part ended when it ends with an error (the others go on).</summary>
    private static async Task Guard(string name, Task run)
    {
        try
        {
            await run;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            Log.Write($"controller-manager: {name} stopped: {e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    private static bool Seconds(string text, out TimeSpan value)
    {
        var ok = double.TryParse(text.TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0;
        value = TimeSpan.FromSeconds(ok ? seconds : 0);
        return ok;
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
}
