using System.Diagnostics;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// One container of a Pod: resolves its image to a program, starts it inside the Pod's network
/// namespace (<c>ip netns exec</c>) with the container's environment, runs its probes, and restarts
/// it with backoff when it exits or fails liveness (restartPolicy Always), counting restarts. Its
/// state reads as a <see cref="V1ContainerStatus"/>.
/// </summary>
internal sealed class ContainerRunner(PodWorker pod, V1Container spec, ImageProgram? image)
{
    /// <summary>Cap of the crash-loop backoff (the kubelet's is 5 min; short here so tests see restarts).</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(20);

    private readonly Lock _lock = new();
    private V1ContainerState _state = Waiting("ContainerCreating", null);
    private V1ContainerState? _lastState;
    private int _restarts;
    private bool _ready;
    private bool _everReady;
    private bool _started;
    private bool _everRan;
    private int _pid;

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

    /// <summary>The status the kubelet reports for it.</summary>
    public V1ContainerStatus Status()
    {
        lock (_lock)
        {
            return new V1ContainerStatus
            {
                Name = spec.Name,
                Image = spec.Image,
                ImageID = image is null ? "" : $"local-cluster://{image.Command[0]}",
                ContainerID = _pid > 0 ? $"process://{_pid}" : null,
                Ready = _ready,
                Started = _started,
                RestartCount = _restarts,
                State = _state,
                LastState = _lastState ?? new V1ContainerState(),
            };
        }
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled, then stops the process within <paramref name="grace"/>.</summary>
    public async Task RunAsync(TimeSpan grace, CancellationToken ct)
    {
        var backoff = TimeSpan.Zero;
        while (!ct.IsCancellationRequested)
        {
            if (image is null)
            {
                Set(Waiting("ErrImagePull", $"image \"{spec.Image}\" is not in the image table (hack/local-cluster/images.yaml)"));
                pod.Event("Warning", "Failed", $"Failed to pull image \"{spec.Image}\": not in the local image table hack/local-cluster/images.yaml", spec.Name);
                await Delay(Timeout.InfiniteTimeSpan, ct);
                return;
            }
            if (!File.Exists(image.Command[0]))
            {
                Set(Waiting("ErrImagePull", $"program {image.Command[0]} of image \"{spec.Image}\" does not exist (is it built?)"));
                pod.Event("Warning", "Failed", $"Failed to pull image \"{spec.Image}\": {image.Command[0]} does not exist", spec.Name);
                await Delay(TimeSpan.FromSeconds(5), ct);
                continue;
            }

            Dictionary<string, string> env;
            try
            {
                env = await ContainerEnvironment.BuildAsync(pod.Client, pod.Pod, spec, image, pod.PodIp, pod.HostIp, ct);
            }
            catch (ContainerEnvironment.ConfigException e)
            {
                Set(Waiting("CreateContainerConfigError", e.Message));
                pod.Event("Warning", "Failed", $"Error: {e.Message}", spec.Name);
                await Delay(TimeSpan.FromSeconds(2), ct);
                continue;
            }

            var exit = await RunOnceAsync(env, grace, ct);
            if (ct.IsCancellationRequested) return;

            // Crash-loop backoff as the kubelet's: the first restart at once, then doubling up to the cap;
            // a container that ran 60 s without trouble starts afresh.
            backoff = exit.Ran > TimeSpan.FromSeconds(60) ? TimeSpan.Zero
                : backoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1)
                : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            lock (_lock) _restarts++;
            if (backoff > TimeSpan.FromSeconds(1))
            {
                Set(Waiting("CrashLoopBackOff", $"back-off {backoff.TotalSeconds:0}s restarting failed container={spec.Name} pod={pod.Pod.Metadata.Name}"));
                pod.Event("Warning", "BackOff", "Back-off restarting failed container", spec.Name);
                await Delay(backoff, ct);
            }
        }
    }

    private async Task<(TimeSpan Ran, int Code)> RunOnceAsync(Dictionary<string, string> env, TimeSpan grace, CancellationToken ct)
    {
        var dir = Path.Combine(pod.Directory, spec.Name);
        Directory.CreateDirectory(dir);
        env.TryAdd("HOME", dir);
        var argv = spec.Command is { Count: > 0 } command ? [.. command, .. spec.Args ?? []] : image!.Command.Concat(spec.Args ?? []).ToList();
        var psi = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDir is { Length: > 0 } wd && Directory.Exists(wd) ? wd : dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in (string[])["netns", "exec", pod.Netns, .. argv]) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;

        var logPath = Path.Combine(pod.Directory, $"{spec.Name}.log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var started = DateTime.UtcNow;
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Exception e)
        {
            await log.DisposeAsync();
            Set(Waiting("RunContainerError", e.Message));
            return (TimeSpan.Zero, 128);
        }
        void Write(string? line)
        {
            if (line is null) return;
            lock (log) log.WriteLine(line);
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        lock (_lock)
        {
            _pid = process.Id;
            _everRan = true;
            _started = spec.StartupProbe is null;
            _ready = false;
            _everReady = false;
            _state = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = started } };
        }
        pod.Event("Normal", "Started", $"Started container {spec.Name} (pid {process.Id}, {argv[0]})", spec.Name);
        pod.Changed();

        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var livenessFailed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probes = Task.WhenAll(ProbeLoopAsync(env, livenessFailed, run.Token));
        var exited = process.WaitForExitAsync(CancellationToken.None);
        var cancelled = Task.Delay(Timeout.Infinite, ct);
        var first = await Task.WhenAny(exited, livenessFailed.Task, cancelled);
        var reason = "Error";
        if (first != exited)
        {
            if (first == livenessFailed.Task)
            {
                pod.Event("Normal", "Killing", $"Container {spec.Name} failed liveness probe, will be restarted", spec.Name);
            }
            else
            {
                pod.Event("Normal", "Killing", $"Stopping container {spec.Name}", spec.Name);
            }
            await StopAsync(process, grace);
        }
        await run.CancelAsync();
        try
        {
            await probes;
        }
        catch (OperationCanceledException)
        {
        }
        await process.WaitForExitAsync(CancellationToken.None);
        var code = process.ExitCode;
        if (code == 0) reason = "Completed";
        lock (_lock)
        {
            _ready = false;
            _started = false;
            _pid = 0;
            _lastState = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = code,
                    Reason = reason,
                    StartedAt = started,
                    FinishedAt = DateTime.UtcNow,
                    ContainerID = $"process://{process.Id}",
                },
            };
            _state = Waiting(ct.IsCancellationRequested ? "Terminating" : "ContainerCreating", null);
        }
        process.Dispose();
        await log.DisposeAsync();
        if (!ct.IsCancellationRequested) Log.Write($"pod {pod.Key}: container {spec.Name} exited with {code}");
        pod.Changed();
        return (DateTime.UtcNow - started, code);
    }

    /// <summary>SIGTERM, then SIGKILL once the grace period is over (the kubelet's killContainer).</summary>
    private static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited) return;
        Host.Signal(process.Id, Host.SIGTERM);
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Host.Signal(process.Id, Host.SIGKILL);
        }
    }

    /// <summary>Startup, then liveness and readiness, each on its own period.</summary>
    private IEnumerable<Task> ProbeLoopAsync(Dictionary<string, string> env, TaskCompletionSource<string> livenessFailed, CancellationToken ct)
    {
        async Task Run()
        {
            if (spec.StartupProbe is { } startup)
            {
                var ok = await ProbeUntilAsync(startup, "Startup", env, ct, onFailure: m => livenessFailed.TrySetResult(m));
                if (!ok) return;
                lock (_lock) _started = true;
                pod.Changed();
            }
            var tasks = new List<Task>();
            if (spec.LivenessProbe is { } liveness)
            {
                tasks.Add(ProbeUntilAsync(liveness, "Liveness", env, ct, onFailure: m => livenessFailed.TrySetResult(m), forever: true));
            }
            if (spec.ReadinessProbe is { } readiness)
            {
                tasks.Add(ReadinessLoopAsync(readiness, env, ct));
            }
            else
            {
                SetReady(true);
            }
            await Task.WhenAll(tasks);
        }
        yield return Run();
    }

    /// <summary>
    /// Probes on the probe's period. Startup (not forever): returns true at the first success, false
    /// after failureThreshold failures (calling onFailure). Liveness (forever): calls onFailure at the
    /// failureThreshold-th consecutive failure and stops.
    /// </summary>
    private async Task<bool> ProbeUntilAsync(V1Probe probe, string kind, Dictionary<string, string> env, CancellationToken ct, Action<string> onFailure, bool forever = false)
    {
        await Delay(TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0), ct);
        var failures = 0;
        var threshold = probe.FailureThreshold is > 0 ? probe.FailureThreshold.Value : 3;
        while (!ct.IsCancellationRequested)
        {
            var error = await Probes.RunAsync(probe, spec, pod.PodIp, pod.Netns, env, ct);
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

    private async Task ReadinessLoopAsync(V1Probe probe, Dictionary<string, string> env, CancellationToken ct)
    {
        await Delay(TimeSpan.FromSeconds(probe.InitialDelaySeconds ?? 0), ct);
        int successes = 0, failures = 0;
        var successThreshold = probe.SuccessThreshold is > 0 ? probe.SuccessThreshold.Value : 1;
        var failureThreshold = probe.FailureThreshold is > 0 ? probe.FailureThreshold.Value : 3;
        var period = TimeSpan.FromSeconds(probe.PeriodSeconds is > 0 ? probe.PeriodSeconds.Value : 10);
        while (!ct.IsCancellationRequested)
        {
            var error = await Probes.RunAsync(probe, spec, pod.PodIp, pod.Netns, env, ct);
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
            var fresh = !Ready && !_everReady;
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

    /// <summary>The running process's id, 0 when none runs (reported as containerID process://PID).</summary>
    public int Pid
    {
        get { lock (_lock) return _pid; }
    }

    private void Set(V1ContainerState state)
    {
        lock (_lock) _state = state;
        pod.Changed();
    }

    private static V1ContainerState Waiting(string reason, string? message) =>
        new() { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
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
