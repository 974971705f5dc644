using k8s;
using k8s.Models;
using LocalCluster.Metrics;

namespace LocalCluster.Controllers.Autoscaling;

/// <summary>
/// kube-controller-manager's HorizontalPodAutoscaler controller over the API (kubernetes
/// <c>pkg/controller/podautoscaler/horizontal.go</c>, <c>Run</c>, <c>reconcileKey</c>,
/// <c>reconcileAutoscaler</c>): watches autoscaling/v2 HorizontalPodAutoscalers and Pods; reconciles
/// each autoscaler one sync period after it is first seen and every sync period after that (the
/// controller's queue adds every key with that delay); reads the target's <c>scale</c> subresource
/// through discovery's mapping of its kind (the UserApi's <c>userapis/scale</c>, a Deployment's
/// <c>deployments/scale</c>), the usage of the namespace's Pods from <see cref="IResourceMetrics"/>,
/// decides with <see cref="AutoscalerReconciler"/>, writes the scale (a PUT with the scale's
/// resourceVersion) when the replicas change, writes the status through
/// <c>horizontalpodautoscalers/status</c> when it changed, and records its Events as component
/// <c>horizontal-pod-autoscaler</c>. A deleted autoscaler's history is forgotten.
/// </summary>
internal sealed class HorizontalPodAutoscalerController
{
    private readonly IKubernetes _client;
    private readonly IResourceMetrics _metrics;
    private readonly AutoscalerOptions _options;
    private readonly AutoscalerReconciler _reconciler;
    private readonly ScaleClient _scales;
    private readonly EventWriter _events;
    private readonly TimeProvider _time;
    private readonly Action<string>? _log;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, ScalingHistory> _history = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _nextSync = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _selectors = new(StringComparer.Ordinal);
    private int _reconciles;

    /// <summary>Builds the controller and its caches (nothing runs until <see cref="RunAsync"/>).</summary>
    public HorizontalPodAutoscalerController(IKubernetes client, IResourceMetrics metrics, AutoscalerOptions? options = null, Action<string>? log = null, TimeProvider? time = null)
    {
        _client = client;
        _metrics = metrics;
        _options = options ?? new AutoscalerOptions();
        _reconciler = new AutoscalerReconciler(_options);
        _scales = new ScaleClient(client);
        _time = time ?? TimeProvider.System;
        _log = log;
        _events = new EventWriter(client, "horizontal-pod-autoscaler", log, _time);
        Autoscalers = new("horizontalpodautoscalers",
            async ct => { var l = await client.AutoscalingV2.ListHorizontalPodAutoscalerForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.AutoscalingV2.WatchListHorizontalPodAutoscalerForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, log);
        Pods = new("pods",
            async ct => { var l = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            () => { }, log);
    }

    /// <summary>The autoscaler cache.</summary>
    public WatchCache<V2HorizontalPodAutoscaler> Autoscalers { get; }

    /// <summary>The Pod cache.</summary>
    public WatchCache<V1Pod> Pods { get; }

    /// <summary>Number of reconciles done (tests wait on it).</summary>
    public int Reconciles => Volatile.Read(ref _reconciles);

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Task[] caches = [Autoscalers.RunAsync(ct), Pods.RunAsync(ct)];
        try
        {
            await Task.WhenAll(Autoscalers.Synced, Pods.Synced).WaitAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                await SyncDueAsync(ct);
                await _wake.WaitAsync(TimeSpan.FromMilliseconds(Math.Min(1000, _options.SyncPeriod.TotalMilliseconds)), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await Task.WhenAll(caches);
    }

    /// <summary>Reconciles every autoscaler whose sync is due; forgets deleted ones.</summary>
    public async Task SyncDueAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var autoscalers = Autoscalers.Snapshot();
        var live = autoscalers.Select(AutoscalerReconciler.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _nextSync.Keys.Where(k => !live.Contains(k)).ToList())
        {
            _nextSync.Remove(gone);
            _history.Remove(gone);
            _selectors.Remove(gone);
        }
        foreach (var hpa in autoscalers)
        {
            var key = AutoscalerReconciler.Key(hpa);
            if (!_nextSync.TryGetValue(key, out var due))
            {
                _nextSync[key] = now + _options.SyncPeriod;
                continue;
            }
            if (now < due) continue;
            _nextSync[key] = now + _options.SyncPeriod;
            try
            {
                await ReconcileAsync(hpa, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log?.Invoke($"autoscaler {key}: {e.GetType().Name}: {e.Message}");
            }
            Interlocked.Increment(ref _reconciles);
        }
    }

    private async Task ReconcileAsync(V2HorizontalPodAutoscaler hpa, CancellationToken ct)
    {
        var key = AutoscalerReconciler.Key(hpa);
        var ns = hpa.Metadata.NamespaceProperty;
        var target = hpa.Spec.ScaleTargetRef;
        hpa.ApiVersion ??= "autoscaling/v2";
        hpa.Kind ??= "HorizontalPodAutoscaler";
        ScalableResource resource;
        V1Scale scale;
        try
        {
            resource = await _scales.ResolveAsync(target.ApiVersion ?? "", target.Kind, ct);
            scale = await _scales.GetAsync(resource, ns, target.Name, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = e is k8s.Autorest.HttpOperationException h ? ApiMessage(h) : e.Message;
            _ = _events.Record(hpa, "Warning", "FailedGetScale", null, message);
            if (AutoscalerReconciler.FailedGetScale(hpa, message, Now()) is { } failed) await WriteStatusAsync(hpa, failed, ct);
            _log?.Invoke($"autoscaler {key}: failed to query scale subresource for {target.Kind}/{ns}/{target.Name}: {message}");
            return;
        }
        if (scale.Status?.Selector is { Length: > 0 } selector) _selectors[key] = selector;

        IReadOnlyList<PodUsage>? samples = null;
        string? samplesError = null;
        try
        {
            samples = await _metrics.GetPodUsageAsync(ns, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            samplesError = e.Message;
        }
        var pods = Pods.Snapshot().Where(p => p.Metadata.NamespaceProperty == ns).ToList();
        var others = _selectors.Where(s => s.Key != key && s.Key.StartsWith(ns + "/", StringComparison.Ordinal))
            .ToDictionary(s => s.Key[(ns.Length + 1)..], s => s.Value, StringComparer.Ordinal);
        if (!_history.TryGetValue(key, out var history)) _history[key] = history = new ScalingHistory();

        var plan = _reconciler.Plan(hpa, scale, pods, samples, samplesError, others, history, Now());
        string? scaleError = null;
        if (plan.Rescale && !plan.Done)
        {
            scale.Spec.Replicas = plan.DesiredReplicas;
            try
            {
                await _scales.UpdateAsync(resource, ns, target.Name, scale, ct);
                _log?.Invoke($"autoscaler {key}: rescaled {target.Kind}/{target.Name} from {plan.CurrentReplicas} to {plan.DesiredReplicas}: {plan.RescaleReason}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                scaleError = e is k8s.Autorest.HttpOperationException h ? ApiMessage(h) : e.Message;
            }
        }
        var status = _reconciler.Finish(plan, history, scaleError, Now());
        foreach (var e in plan.Events) _ = _events.Record(hpa, e.Type, e.Reason, null, e.Message);
        if (plan.Error is not null) _log?.Invoke($"autoscaler {key}: {plan.Error}");
        if (status is not null) await WriteStatusAsync(hpa, status, ct);
    }

    private async Task WriteStatusAsync(V2HorizontalPodAutoscaler hpa, V2HorizontalPodAutoscalerStatus status, CancellationToken ct)
    {
        var updated = KubernetesJson.Deserialize<V2HorizontalPodAutoscaler>(KubernetesJson.Serialize(hpa));
        updated.Status = status;
        try
        {
            Autoscalers.Upsert(await _client.AutoscalingV2.ReplaceNamespacedHorizontalPodAutoscalerStatusAsync(updated, hpa.Metadata.Name, hpa.Metadata.NamespaceProperty, cancellationToken: ct));
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            _ = _events.Record(hpa, "Warning", "FailedUpdateStatus", null, ApiMessage(e));
            _log?.Invoke($"autoscaler {AutoscalerReconciler.Key(hpa)}: failed to update status: {ApiMessage(e)}");
        }
    }

    /// <summary>The message of the API's Status body, or the HTTP reason.</summary>
    private static string ApiMessage(k8s.Autorest.HttpOperationException e)
    {
        try
        {
            return KubernetesJson.Deserialize<V1Status>(e.Response.Content)?.Message ?? e.Message;
        }
        catch (System.Text.Json.JsonException)
        {
            return e.Message;
        }
    }

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private void Signal()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }
}
