using k8s;
using k8s.Models;
using LocalCluster.Controllers;

namespace LocalCluster.Scheduler;

/// <summary>Settings of the scheduler loop.</summary>
internal sealed record SchedulerLoopOptions
{
    /// <summary>The scheduler name this loop answers for (Pods with another <c>spec.schedulerName</c> are left alone).</summary>
    public string SchedulerName { get; init; } = "default-scheduler";

    /// <summary>First retry delay of an unschedulable Pod (<c>podInitialBackoffSeconds</c>, 1 s).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest retry delay (<c>podMaxBackoffSeconds</c>, 10 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Breaks ties between equally scored nodes; a shared random source when null.</summary>
    public Random? Random { get; init; }

    /// <summary>Receives one line per decision; null for none.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// kube-scheduler's loop over the API (kubernetes <c>pkg/scheduler/schedule_one.go</c>,
/// <c>ScheduleOne</c>, and <c>pkg/scheduler/internal/queue</c>): watches Nodes, Pods, Services and
/// Deployments; every Pod without <c>spec.nodeName</c> that names this scheduler, is not being
/// deleted and is not finished is scheduled, highest priority first, then oldest
/// (<c>PrioritySort</c>), against the cache plus the Pods it bound but has not seen bound yet
/// (the scheduler cache's assumed Pods). A chosen node is bound through the
/// <see cref="IPodBinder"/> and announced with a <c>Scheduled</c> Event; a Pod that fits nowhere
/// gets the <c>PodScheduled=False</c> condition (reason <c>Unschedulable</c>, the FitError text) and
/// a <c>FailedScheduling</c> Event (the text truncated to 1024 characters as <c>truncateMessage</c>
/// does; repeats fold into its count), and is tried again once its backoff (1 s doubling to 10 s)
/// is over; the loop runs on every cache change and every second.
/// Preemption is computed (<see cref="ScheduleResult.Preemption"/>) but not carried out.
/// </summary>
internal sealed class SchedulerLoop
{
    private const int NoteLengthLimit = 1024;

    private readonly IKubernetes _client;
    private readonly IPodBinder _binder;
    private readonly SchedulerLoopOptions _options;
    private readonly EventWriter _events;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, (int Attempts, DateTimeOffset NotBefore)> _backoff = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _assumed = new(StringComparer.Ordinal);

    /// <summary>Builds the loop and its caches (nothing runs until <see cref="RunAsync"/>).</summary>
    public SchedulerLoop(IKubernetes client, IPodBinder binder, SchedulerLoopOptions? options = null, TimeProvider? time = null)
    {
        _client = client;
        _binder = binder;
        _options = options ?? new SchedulerLoopOptions();
        _time = time ?? TimeProvider.System;
        _events = new EventWriter(client, _options.SchedulerName, _options.Log, _time);
        Nodes = new("nodes",
            async ct => { var l = await client.CoreV1.ListNodeAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListNodeAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, _options.Log);
        Pods = new("pods",
            async ct => { var l = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, _options.Log);
        Services = new("services",
            async ct => { var l = await client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListServiceForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, _options.Log);
        Deployments = new("deployments",
            async ct => { var l = await client.AppsV1.ListDeploymentForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.AppsV1.WatchListDeploymentForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, _options.Log);
    }

    /// <summary>The Node cache.</summary>
    public WatchCache<V1Node> Nodes { get; }

    /// <summary>The Pod cache.</summary>
    public WatchCache<V1Pod> Pods { get; }

    /// <summary>The Service cache (default spreading selectors).</summary>
    public WatchCache<V1Service> Services { get; }

    /// <summary>The Deployment cache (the local cluster's Pod controllers, for default spreading selectors).</summary>
    public WatchCache<V1Deployment> Deployments { get; }

    /// <summary>Runs until cancelled: syncs the caches, then schedules whenever anything changes (and every second, for backoffs).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Task[] caches = [Nodes.RunAsync(ct), Pods.RunAsync(ct), Services.RunAsync(ct), Deployments.RunAsync(ct)];
        try
        {
            await Task.WhenAll(Nodes.Synced, Pods.Synced, Services.Synced, Deployments.Synced).WaitAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await ScheduleAllAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _options.Log?.Invoke($"scheduler: {e.GetType().Name}: {e.Message}");
                }
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await Task.WhenAll(caches);
    }

    /// <summary>One pass: every pending Pod whose backoff is over, in queue order.</summary>
    public async Task ScheduleAllAsync(CancellationToken ct)
    {
        var pods = Pods.Snapshot();
        foreach (var bound in pods.Where(p => !string.IsNullOrEmpty(p.Spec?.NodeName))) _assumed.Remove(bound.Metadata.Uid);
        var live = pods.Select(p => p.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _assumed.Keys.Where(k => !live.Contains(k)).ToList()) _assumed.Remove(gone);
        foreach (var gone in _backoff.Keys.Where(k => !live.Contains(k)).ToList()) _backoff.Remove(gone);

        var pending = pods
            .Where(p => IsPending(p) && !_assumed.ContainsKey(p.Metadata.Uid))
            .OrderByDescending(Preemption.Priority)
            .ThenBy(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue)
            .ToList();
        foreach (var pod in pending)
        {
            ct.ThrowIfCancellationRequested();
            if (_backoff.TryGetValue(pod.Metadata.Uid, out var b) && _time.GetUtcNow() < b.NotBefore) continue;
            await ScheduleOneAsync(pod, pods, ct);
        }
    }

    private bool IsPending(V1Pod pod) =>
        string.IsNullOrEmpty(pod.Spec?.NodeName)
        && (pod.Spec?.SchedulerName ?? "default-scheduler") == _options.SchedulerName
        && pod.Metadata.DeletionTimestamp is null
        && !Objects.Pods.IsTerminal(pod);

    private async Task ScheduleOneAsync(V1Pod pod, List<V1Pod> pods, CancellationToken ct)
    {
        var result = KubeScheduler.Schedule(pod, Snapshot(pods), _options.Random);
        pod.ApiVersion ??= "v1";
        pod.Kind ??= "Pod";
        var key = Objects.Pods.Key(pod.Metadata);
        if (result.NodeName is { } node)
        {
            try
            {
                await _binder.BindAsync(pod, node, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _options.Log?.Invoke($"scheduler: binding {key} to {node} failed: {e.Message}");
                Backoff(pod);
                return;
            }
            _assumed[pod.Metadata.Uid] = node;
            _backoff.Remove(pod.Metadata.Uid);
            _options.Log?.Invoke($"scheduler: {key} bound to {node}");
            _ = _events.Record(pod, "Normal", "Scheduled", "Binding", $"Successfully assigned {key} to {node}");
            return;
        }

        var message = result.Message ?? KubeScheduler.NoNodesAvailable;
        _options.Log?.Invoke($"scheduler: {key} unschedulable: {message}");
        Backoff(pod);
        _ = _events.Record(pod, "Warning", "FailedScheduling", "Scheduling", Truncate(message));
        await SetUnschedulableAsync(pod, message, ct);
    }

    /// <summary>The PodScheduled=False condition, written only when it changes (<c>updatePod</c> after <c>podutil.UpdatePodCondition</c>).</summary>
    private async Task SetUnschedulableAsync(V1Pod pod, string message, CancellationToken ct)
    {
        var existing = Objects.Pods.Condition(pod, "PodScheduled");
        if (existing is { Status: "False", Reason: "Unschedulable" } && existing.Message == message) return;
        var conditions = (pod.Status?.Conditions ?? []).Where(c => c.Type != "PodScheduled").ToList();
        conditions.Add(new V1PodCondition
        {
            Type = "PodScheduled",
            Status = "False",
            Reason = "Unschedulable",
            Message = message,
            LastTransitionTime = existing?.Status == "False" ? existing.LastTransitionTime : _time.GetUtcNow().UtcDateTime,
        });
        var patch = new V1Patch(KubernetesJson.Serialize(new { status = new { conditions } }), V1Patch.PatchType.MergePatch);
        try
        {
            var updated = await _client.CoreV1.PatchNamespacedPodStatusAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            Pods.Upsert(updated);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
    }

    private ClusterSnapshot Snapshot(List<V1Pod> pods)
    {
        var withAssumed = pods.Select(p => _assumed.TryGetValue(p.Metadata.Uid, out var node) && string.IsNullOrEmpty(p.Spec?.NodeName) ? Bound(p, node) : p).ToList();
        var selectors = Deployments.Snapshot()
            .Where(d => d.Spec?.Selector is not null)
            .ToDictionary(d => d.Metadata.Uid, d => d.Spec.Selector, StringComparer.Ordinal);
        return new ClusterSnapshot { Nodes = Nodes.Snapshot(), Pods = withAssumed, Services = Services.Snapshot(), ControllerSelectors = selectors };
    }

    private static V1Pod Bound(V1Pod pod, string node)
    {
        var copy = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));
        copy.Spec.NodeName = node;
        return copy;
    }

    private void Backoff(V1Pod pod)
    {
        var attempts = _backoff.TryGetValue(pod.Metadata.Uid, out var b) ? b.Attempts + 1 : 1;
        var delay = TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, _options.InitialBackoff.Ticks << Math.Min(attempts - 1, 30)));
        _backoff[pod.Metadata.Uid] = (attempts, _time.GetUtcNow() + delay);
    }

    private void Signal()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    private static string Truncate(string message) =>
        message.Length <= NoteLengthLimit ? message : message[..(NoteLengthLimit - 4)] + " ...";
}
