using System.Diagnostics;
using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// One container of a Pod, run as an OCI container by runc: makes sure its image is in the node's
/// store as its pull policy says (<see cref="ImagePuller"/>), builds its environment and security,
/// mounts an overlay over the image's root filesystem, writes the bundle's config.json
/// (<see cref="OciSpec"/>), runs <c>runc run</c>, writes its output to the CRI log file, runs its
/// probes, stops it (SIGTERM, then SIGKILL after the grace period) and restarts it with backoff
/// when it exits or fails liveness (restartPolicy Always), counting restarts. Follows the kubelet's
/// <c>pkg/kubelet/kuberuntime/kuberuntime_container.go</c> (<c>startContainer</c>,
/// <c>generateContainerConfig</c>, <c>killContainer</c>) and <c>kuberuntime_manager.go</c>
/// (<c>SyncPod</c>, the crash-loop backoff). Its state reads as a <see cref="V1ContainerStatus"/>.
/// </summary>
internal sealed class ContainerRunner(PodWorker pod, V1Container spec)
{
    /// <summary>Cap of the crash-loop backoff (the kubelet's is 5 min; short here so tests see restarts).</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(20);

    private readonly Lock _lock = new();
    private readonly ImagePuller _puller = new(pod, spec);
    private V1ContainerState _state = Waiting("ContainerCreating", null);
    private V1ContainerState? _lastState;
    private int _restarts;
    private bool _ready;
    private bool _everReady;
    private bool _started;
    private bool _everRan;
    private string? _containerId;
    private string? _lastContainerId;
    private string _imageId = "";

    /// <summary>The container's name.</summary>
    public string Name => spec.Name;

    /// <summary>True once the container ran at least once (the Pod leaves Pending).</summary>
    public bool EverRan
    {
        get { lock (_lock) return _everRan; }
    }

    /// <summary>True when running and its readiness probe (if any) passes.</summary>
    public bool Ready
    {
        get { lock (_lock) return _ready; }
    }

    /// <summary>The runc id of the running instance, null when none runs.</summary>
    public string? ContainerId
    {
        get { lock (_lock) return _containerId; }
    }

    /// <summary>The status the kubelet reports for it.</summary>
    public V1ContainerStatus Status()
    {
        lock (_lock)
        {
            var id = _containerId ?? _lastContainerId;
            return new V1ContainerStatus
            {
                Name = spec.Name,
                Image = spec.Image,
                ImageID = _imageId,
                ContainerID = id is null ? null : $"runc://{id}",
                Ready = _ready,
                Started = _started,
                RestartCount = _restarts,
                State = _state,
                LastState = _lastState ?? new V1ContainerState(),
            };
        }
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled, then stops the container within <paramref name="grace"/>.</summary>
    public async Task RunAsync(TimeSpan grace, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(grace, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // What the runtime did not foresee (a damaged image in the store, a cgroup that cannot be
                // made) must not end the container's loop: it reads as CreateContainerError and is retried.
                Log.Write($"pod {pod.Key}: container {spec.Name}: {e}");
                Set(Waiting("CreateContainerError", e.Message));
                pod.Event("Warning", "Failed", $"Error: {e.Message}", spec.Name);
                await Delay(TimeSpan.FromSeconds(5), ct);
            }
        }
    }

    private async Task SyncAsync(TimeSpan grace, CancellationToken ct)
    {
        var backoff = TimeSpan.Zero;
        while (!ct.IsCancellationRequested)
        {
            var image = await _puller.EnsureAsync(Set, ct);
            if (image is null) continue;
            lock (_lock) _imageId = image.ImageId;

            (Dictionary<string, string> Merged, Dictionary<string, string> Own) env;
            ResolvedSecurity security;
            try
            {
                env = await ContainerEnvironment.BuildAsync(pod.Client, pod.Pod, spec, image.Env, pod.MasterServiceEndpoint(), pod.PodIp, pod.HostIp, ct);
                security = ContainerSecurity.Resolve(pod.Pod, spec, image);
            }
            catch (ContainerEnvironment.ConfigException e)
            {
                Set(Waiting("CreateContainerConfigError", e.Message));
                pod.Event("Warning", "Failed", $"Error: {e.Message}", spec.Name);
                await Delay(TimeSpan.FromSeconds(2), ct);
                continue;
            }

            var exit = await RunOnceAsync(image, env, security, grace, ct);
            if (ct.IsCancellationRequested) return;

            // Crash-loop backoff as the kubelet's: the first restart at once, then doubling up to the cap;
            // a container that ran 60 s without trouble starts afresh.
            backoff = exit.Ran > TimeSpan.FromSeconds(60) ? TimeSpan.Zero
                : backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1)
                : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            lock (_lock) _restarts++;
            if (exit.Failure is { } failure)
            {
                Set(Waiting(failure.Reason, failure.Message));
                pod.Event("Warning", "Failed", $"Error: {failure.Message}", spec.Name);
                await Delay(TimeSpan.FromSeconds(1), ct);
            }
            if (backoff > TimeSpan.FromSeconds(1))
            {
                Set(Waiting("CrashLoopBackOff", $"back-off {backoff.TotalSeconds:0}s restarting failed container={spec.Name} pod={pod.Pod.Metadata.Name}_{pod.Pod.Metadata.NamespaceProperty}({pod.Pod.Metadata.Uid})"));
                pod.Event("Warning", "BackOff", "Back-off restarting failed container", spec.Name);
                await Delay(backoff, ct);
            }
        }
    }

    /// <summary>A run that could not start the container: the waiting reason and message.</summary>
    private sealed record StartFailure(string Reason, string Message);

    private async Task<(TimeSpan Ran, int Code, StartFailure? Failure)> RunOnceAsync(ImageConfig image, (Dictionary<string, string> Merged, Dictionary<string, string> Own) env, ResolvedSecurity security, TimeSpan grace, CancellationToken ct)
    {
        int attempt;
        lock (_lock) attempt = _restarts;
        var id = Runc.ContainerId(pod.Pod.Metadata.Uid ?? "", spec.Name, attempt);
        var bundle = Path.Combine(pod.StateDir, "containers", id);
        var rootfs = Path.Combine(bundle, "rootfs");
        var started = DateTime.UtcNow;

        // CreateContainer: the writable layer, the mounts and config.json.
        string terminationLog;
        try
        {
            await CleanUpAsync(id, bundle);
            Directory.CreateDirectory(rootfs);
            Directory.CreateDirectory(Path.Combine(bundle, "upper"));
            Directory.CreateDirectory(Path.Combine(bundle, "work"));
            Native.Mount("overlay", rootfs, "overlay", 0,
                $"lowerdir={image.RootFs},upperdir={Path.Combine(bundle, "upper")},workdir={Path.Combine(bundle, "work")}");
            terminationLog = Path.Combine(pod.VolumeDirectory, "containers", spec.Name, id);
            Directory.CreateDirectory(Path.GetDirectoryName(terminationLog)!);
            File.WriteAllText(terminationLog, "");
            File.SetUnixFileMode(terminationLog, (UnixFileMode)0x1B6); // 0666: any uid may write its message
            var config = OciSpec.Build(ContainerConfig.Build(pod, spec, image, env, security, terminationLog), rootfs);
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), config, CancellationToken.None);
        }
        catch (Exception e) when (e is ContainerEnvironment.ConfigException or IOException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            await CleanUpAsync(id, bundle);
            return (TimeSpan.Zero, 128, new StartFailure("CreateContainerError", $"failed to create containerd container: {e.Message}"));
        }
        pod.Event("Normal", "Created", $"Created container {spec.Name}", spec.Name);

        // StartContainer: runc run, its output into the CRI log (the one before the previous goes).
        var logPath = CriLog.PathFor(pod.LogDirectory, spec.Name, attempt);
        var old = CriLog.PathFor(pod.LogDirectory, spec.Name, attempt - 2);
        if (attempt >= 2 && File.Exists(old)) File.Delete(old);
        using var oom = new OomWatcher(Path.Combine(ContainerConfig.MemoryCgroupRoot, pod.CgroupParent.TrimStart('/'), spec.Name));
        var log = new CriLog(logPath);
        var pidFile = Path.Combine(bundle, "pid");
        var runcLog = Path.Combine(bundle, "runc.log");
        var psi = pod.Runc.StartInfo(["--log", runcLog, "--log-format", "json", "run", "--bundle", bundle, "--pid-file", pidFile, id]);
        var launched = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            await log.DisposeAsync();
            await CleanUpAsync(id, bundle);
            return (TimeSpan.Zero, 128, new StartFailure("RunContainerError", $"cannot run runc: {e.Message}"));
        }
        process.StandardInput.Close();
        var stdout = log.PumpAsync(process.StandardOutput.BaseStream, "stdout");
        var stderr = log.PumpAsync(process.StandardError.BaseStream, "stderr");
        var exited = process.WaitForExitAsync(CancellationToken.None);

        // runc writes the pid file once the container's process has been started (exec'd).
        while (!File.Exists(pidFile) && !exited.IsCompleted)
        {
            await Task.WhenAny(exited, Task.Delay(5, CancellationToken.None));
        }
        var isStarted = File.Exists(pidFile);
        if (isStarted) log.Release();
        if (!isStarted)
        {
            await exited;
            await Task.WhenAll(stdout, stderr);
            await log.DisposeAsync();
            var error = RuncError(runcLog) ?? $"runc exited with {process.ExitCode}";
            process.Dispose();
            await CleanUpAsync(id, bundle);
            File.Delete(logPath);
            lock (_lock)
            {
                _lastContainerId = id;
                _state = new V1ContainerState
                {
                    Terminated = new V1ContainerStateTerminated
                    {
                        ExitCode = 128, Reason = "StartError", Message = error, StartedAt = DateTime.UnixEpoch, FinishedAt = DateTime.UtcNow, ContainerID = $"runc://{id}",
                    },
                };
            }
            Log.Write($"pod {pod.Key}: container {spec.Name} failed to start: {error}");
            return (TimeSpan.Zero, 128, new StartFailure("RunContainerError", error));
        }

        lock (_lock)
        {
            KeepTerminatedAsLast();
            _containerId = id;
            _everRan = true;
            _started = spec.StartupProbe is null;
            _ready = false;
            _everReady = false;
            _state = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = started } };
        }
        Log.Write($"pod {pod.Key}: container {spec.Name} started as runc://{id} in {launched.ElapsedMilliseconds} ms (runc run to its process)");
        pod.Event("Normal", "Started", $"Started container {spec.Name}", spec.Name);
        pod.Changed();

        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var livenessFailed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probes = ProbeLoopAsync(id, livenessFailed, run.Token);
        var cancelled = Task.Delay(Timeout.Infinite, ct);
        var first = await Task.WhenAny(exited, livenessFailed.Task, cancelled);
        if (first != exited)
        {
            pod.Event("Normal", "Killing", first == livenessFailed.Task
                ? $"Container {spec.Name} failed liveness probe, will be restarted"
                : $"Stopping container {spec.Name}", spec.Name);
            await StopAsync(id, exited, grace);
        }
        await run.CancelAsync();
        try
        {
            await probes;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            Log.Write($"pod {pod.Key}: container {spec.Name}: probes ended with {e.GetType().Name}: {e.Message}");
        }
        await exited;
        await Task.WhenAll(stdout, stderr);
        await log.DisposeAsync();
        var code = process.ExitCode;
        process.Dispose();

        // containerd's CRI: an exit after an OOM event is OOMKilled; else Completed for 0, Error otherwise.
        var reason = await oom.OomKilledAsync(code) ? "OOMKilled" : code == 0 ? "Completed" : "Error";
        var message = TerminationMessage(terminationLog, logPath, code);
        await CleanUpAsync(id, bundle);
        lock (_lock)
        {
            _ready = false;
            _started = false;
            _containerId = null;
            _lastContainerId = id;
            // state.terminated until the next run begins; that moves it to lastState.
            _state = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = code,
                    Reason = reason,
                    Message = message,
                    StartedAt = started,
                    FinishedAt = DateTime.UtcNow,
                    ContainerID = $"runc://{id}",
                },
            };
        }
        if (!ct.IsCancellationRequested) Log.Write($"pod {pod.Key}: container {spec.Name} exited with {code} ({reason})");
        pod.Changed();
        return (DateTime.UtcNow - started, code, null);
    }

    /// <summary>
    /// killContainer: SIGTERM (<c>runc kill</c>), then SIGKILL once the grace period is over. A
    /// container's init ignores signals it has no handler for (it is pid 1 of its namespace), so an
    /// entry point that does not handle SIGTERM waits out the grace period, as on a real node.
    /// </summary>
    private async Task StopAsync(string id, Task exited, TimeSpan grace)
    {
        if (exited.IsCompleted) return;
        await pod.Runc.KillAsync(id, "TERM");
        if (await Task.WhenAny(exited, Task.Delay(grace)) == exited) return;
        await pod.Runc.KillAsync(id, "KILL", all: true);
        await exited;
    }

    /// <summary>Unmounts the overlay and removes the bundle (its writable layer goes with it) and runc's record of the id.</summary>
    private async Task CleanUpAsync(string id, string bundle)
    {
        if (File.Exists(Path.Combine(pod.Runc.Root, id, "state.json"))) await pod.Runc.DeleteAsync(id);
        foreach (var mount in Native.MountsUnder(bundle)) Native.Unmount(mount);
        if (Directory.Exists(bundle)) await Host.RunAsync("rm", ["-rf", "--one-file-system", bundle]);
    }

    /// <summary>The message of runc's last error in its JSON log (what it prints when it cannot start the container).</summary>
    private static string? RuncError(string runcLog)
    {
        if (!File.Exists(runcLog)) return null;
        string? message = null;
        foreach (var line in File.ReadLines(runcLog))
        {
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(line);
                if ((string?)node?["level"] is "error" or "fatal") message = (string?)node!["msg"];
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        return message;
    }

    /// <summary>kuberuntime_container.go, getTerminationMessage: the file (at most 4 KiB), else the log's tail on error if asked.</summary>
    private string? TerminationMessage(string file, string logPath, int code)
    {
        var text = File.Exists(file) ? File.ReadAllText(file) : "";
        if (text.Length > 4096) text = text[..4096];
        if (text.Length == 0 && code != 0 && spec.TerminationMessagePolicy == "FallbackToLogsOnError") text = CriLog.Tail(logPath);
        return text.Length == 0 ? null : text;
    }

    /// <summary>Startup, then liveness and readiness, each on its own period.</summary>
    private async Task ProbeLoopAsync(string id, TaskCompletionSource<string> livenessFailed, CancellationToken ct)
    {
        if (spec.StartupProbe is { } startup)
        {
            var ok = await ProbeUntilAsync(startup, "Startup", id, ct, onFailure: m => livenessFailed.TrySetResult(m));
            if (!ok) return;
            lock (_lock) _started = true;
            pod.Changed();
        }
        var tasks = new List<Task>();
        if (spec.LivenessProbe is { } liveness)
        {
            tasks.Add(ProbeUntilAsync(liveness, "Liveness", id, ct, onFailure: m => livenessFailed.TrySetResult(m), forever: true));
        }
        if (spec.ReadinessProbe is { } readiness)
        {
            tasks.Add(ReadinessLoopAsync(readiness, id, ct));
        }
        else
        {
            SetReady(true);
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>
    /// Probes on the probe's period. Startup (not forever): returns true at the first success, false
    /// after failureThreshold failures (calling onFailure). Liveness (forever): calls onFailure at the
    /// failureThreshold-th consecutive failure and stops.
    /// </summary>
    private async Task<bool> ProbeUntilAsync(V1Probe probe, string kind, string id, CancellationToken ct, Action<string> onFailure, bool forever = false)
    {
        await Delay(TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0), ct);
        var failures = 0;
        var threshold = probe.FailureThreshold is > 0 ? probe.FailureThreshold.Value : 3;
        while (!ct.IsCancellationRequested)
        {
            var error = await Probes.RunAsync(probe, spec, pod.PodIp, pod.Runc, id, ct);
            if (ct.IsCancellationRequested) return false;
            if (error is null)
            {
                failures = 0;
                if (!forever) return true;
            }
            else
            {
                failures++;
                pod.Event("Warning", "Unhealthy", $"{kind} probe failed: {error}", spec.Name);
                if (failures >= threshold)
                {
                    onFailure(error);
                    return false;
                }
            }
            await Delay(TimeSpan.FromSeconds(probe.PeriodSeconds is > 0 ? probe.PeriodSeconds.Value : 10), ct);
        }
        return false;
    }

    private async Task ReadinessLoopAsync(V1Probe probe, string id, CancellationToken ct)
    {
        await Delay(TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0), ct);
        int successes = 0, failures = 0;
        var successThreshold = probe.SuccessThreshold is > 0 ? probe.SuccessThreshold.Value : 1;
        var failureThreshold = probe.FailureThreshold is > 0 ? probe.FailureThreshold.Value : 3;
        var period = TimeSpan.FromSeconds(probe.PeriodSeconds is > 0 ? probe.PeriodSeconds.Value : 10);
        while (!ct.IsCancellationRequested)
        {
            var error = await Probes.RunAsync(probe, spec, pod.PodIp, pod.Runc, id, ct);
            if (ct.IsCancellationRequested) return;
            if (error is null)
            {
                failures = 0;
                if (++successes >= successThreshold) SetReady(true);
            }
            else
            {
                successes = 0;
                failures++;
                // Not ready until the first success; once ready, unready after failureThreshold failures.
                if (!Ready || failures >= failureThreshold) SetReady(false);
                if (Ready || failures == 1 || failures % 6 == 0) pod.Event("Warning", "Unhealthy", $"Readiness probe failed: {error}", spec.Name);
            }
            // Deviation: until its first success the kubelet probes at the period too; here a container
            // not yet ready since it started is probed every second, so a fresh Pod turns ready within
            // a second of its programs (a Pod's first readiness is all the quick start waits for).
            bool fresh;
            lock (_lock) fresh = !_ready && !_everReady;
            await Delay(fresh ? TimeSpan.FromTicks(Math.Min(period.Ticks, TimeSpan.FromSeconds(1).Ticks)) : period, ct);
        }
    }

    private void SetReady(bool ready)
    {
        bool changed;
        lock (_lock)
        {
            changed = _ready != ready;
            _ready = ready;
            _everReady |= ready;
        }
        if (changed)
        {
            Log.Write($"pod {pod.Key}: container {spec.Name} {(ready ? "ready" : "not ready")}");
            pod.Changed();
        }
    }

    private void Set(V1ContainerState state)
    {
        lock (_lock)
        {
            KeepTerminatedAsLast();
            _state = state;
        }
        pod.Changed();
    }

    /// <summary>A terminated state that gives way to a new one becomes lastState (the kubelet reports the previous run there).</summary>
    private void KeepTerminatedAsLast()
    {
        if (_state.Terminated is not null) _lastState = _state;
    }

    /// <summary>A waiting state.</summary>
    public static V1ContainerState Waiting(string reason, string? message) =>
        new() { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };

    /// <summary>Task.Delay that returns (instead of throwing) when cancelled.</summary>
    public static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
