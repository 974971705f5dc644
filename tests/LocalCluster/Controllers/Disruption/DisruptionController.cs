using System.Net;
using k8s;
using k8s.Models;
using LocalCluster.Objects;

namespace LocalCluster.Controllers.Disruption;

/// <summary>
/// kube-controller-manager's disruption controller over the API (kubernetes
/// <c>pkg/controller/disruption/disruption.go</c>): watches PodDisruptionBudgets and Pods and, on
/// every change and every second, syncs each budget with <see cref="BudgetSync"/>, writing the
/// status through <c>poddisruptionbudgets/status</c> (a PUT, as <c>UpdateStatus</c>) only when it
/// changed, and recording its Events as component <c>controllermanager</c>. Controllers are found
/// by the finders' order (<c>finders</c>): a ReplicationController, a ReplicaSet's Deployment, a
/// ReplicaSet, a StatefulSet, then any kind through its <c>scale</c> subresource (the local
/// cluster's Deployments, which own their Pods directly, are found this way). Pods whose
/// <c>DisruptionTarget</c> condition stays True for 2 minutes without being deleted get it set to
/// False (<c>syncStalePodDisruption</c>).
/// </summary>
internal sealed class DisruptionController
{
    /// <summary>How long a DisruptionTarget condition may stay without a deletion (<c>stalePodDisruptionTimeout</c>).</summary>
    public static readonly TimeSpan StalePodDisruptionTimeout = TimeSpan.FromMinutes(2);

    private readonly IKubernetes _client;
    private readonly ScaleClient _scales;
    private readonly EventWriter _events;
    private readonly TimeProvider _time;
    private readonly Action<string>? _log;
    private readonly SemaphoreSlim _wake = new(0);
    private int _passes;

    /// <summary>Builds the controller and its caches (nothing runs until <see cref="RunAsync"/>).</summary>
    public DisruptionController(IKubernetes client, Action<string>? log = null, TimeProvider? time = null)
    {
        _client = client;
        _scales = new ScaleClient(client);
        _time = time ?? TimeProvider.System;
        _log = log;
        _events = new EventWriter(client, "controllermanager", log, _time);
        Budgets = new("poddisruptionbudgets",
            async ct => { var l = await client.PolicyV1.ListPodDisruptionBudgetForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.PolicyV1.WatchListPodDisruptionBudgetForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, log);
        Pods = new("pods",
            async ct => { var l = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct); return (l.Items, l.Metadata.ResourceVersion); },
            (rv, ct) => client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: rv, allowWatchBookmarks: true, cancellationToken: ct),
            Signal, log);
    }

    /// <summary>The budget cache.</summary>
    public WatchCache<V1PodDisruptionBudget> Budgets { get; }

    /// <summary>The Pod cache.</summary>
    public WatchCache<V1Pod> Pods { get; }

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        Task[] caches = [Budgets.RunAsync(ct), Pods.RunAsync(ct)];
        try
        {
            await Task.WhenAll(Budgets.Synced, Pods.Synced).WaitAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await SyncAllAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log?.Invoke($"disruption: {e.GetType().Name}: {e.Message}");
                }
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await Task.WhenAll(caches);
    }

    /// <summary>Number of passes completed (tests wait on it to know the controller looked again).</summary>
    public int Passes => Volatile.Read(ref _passes);

    /// <summary>One pass over every budget and every Pod with a stale DisruptionTarget condition.</summary>
    public async Task SyncAllAsync(CancellationToken ct)
    {
        var pods = Pods.Snapshot();
        foreach (var pdb in Budgets.Snapshot())
        {
            ct.ThrowIfCancellationRequested();
            await SyncAsync(pdb, pods, ct);
        }
        foreach (var pod in pods) await ClearStaleDisruptionAsync(pod, ct);
        Interlocked.Increment(ref _passes);
    }

    private async Task SyncAsync(V1PodDisruptionBudget pdb, List<V1Pod> all, CancellationToken ct)
    {
        var selected = all.Where(p => p.Metadata.NamespaceProperty == pdb.Metadata.NamespaceProperty && Selects(pdb, p)).ToList();
        var scales = new Dictionary<string, ControllerScale>(StringComparer.Ordinal);
        if (pdb.Spec?.MaxUnavailable is not null || (pdb.Spec?.MinAvailable is { } min && IntOrPercent.IsPercent(min)))
        {
            foreach (var owner in selected.Select(p => Objects.Pods.ControllerOf(p.Metadata)).OfType<V1OwnerReference>().DistinctBy(o => o.Uid))
            {
                scales[owner.Uid] = await FindAsync(owner, pdb.Metadata.NamespaceProperty, ct);
            }
        }
        var result = BudgetSync.Compute(pdb, selected, o => scales.GetValueOrDefault(o.Uid) ?? ControllerScale.NotFound, _time.GetUtcNow().UtcDateTime);
        foreach (var e in result.Events) _ = _events.Record(e.Object, e.Type, e.Reason, null, e.Message);
        if (result.Error is not null) _log?.Invoke($"disruption: {Objects.Pods.Key(pdb.Metadata)}: {result.Error}");
        if (!result.Changed) return;
        var updated = KubernetesJson.Deserialize<V1PodDisruptionBudget>(KubernetesJson.Serialize(pdb));
        updated.Status = result.Status;
        try
        {
            Budgets.Upsert(await _client.PolicyV1.ReplaceNamespacedPodDisruptionBudgetStatusAsync(updated, pdb.Metadata.Name, pdb.Metadata.NamespaceProperty, cancellationToken: ct));
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            // A newer budget is on its way through the watch; the next pass uses it.
        }
    }

    /// <summary>policy/v1 selection: a null selector selects nothing, an empty one every Pod of the namespace.</summary>
    private static bool Selects(V1PodDisruptionBudget pdb, V1Pod pod)
    {
        try
        {
            return LabelSelectors.Matches(pdb.Spec?.Selector, pod.Metadata.Labels);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The finders, in the controller's order; the first that knows the reference answers.</summary>
    private async Task<ControllerScale> FindAsync(V1OwnerReference owner, string ns, CancellationToken ct)
    {
        try
        {
            var group = owner.ApiVersion.Contains('/', StringComparison.Ordinal) ? owner.ApiVersion[..owner.ApiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
            switch (owner.Kind)
            {
                case "ReplicationController" when group == "":
                    var rc = await ReadAsync(() => _client.CoreV1.ReadNamespacedReplicationControllerAsync(owner.Name, ns, cancellationToken: ct));
                    return rc?.Metadata.Uid == owner.Uid ? new(rc.Metadata.Uid, rc.Spec.Replicas ?? 0) : ControllerScale.NotFound;
                case "ReplicaSet" when group is "apps" or "extensions":
                    var rs = await ReadAsync(() => _client.AppsV1.ReadNamespacedReplicaSetAsync(owner.Name, ns, cancellationToken: ct));
                    if (rs?.Metadata.Uid != owner.Uid) return ControllerScale.NotFound;
                    if (Objects.Pods.ControllerOf(rs.Metadata) is { Kind: "Deployment" } deploymentRef)
                    {
                        var deployment = await ReadAsync(() => _client.AppsV1.ReadNamespacedDeploymentAsync(deploymentRef.Name, ns, cancellationToken: ct));
                        return deployment?.Metadata.Uid == deploymentRef.Uid ? new(deployment.Metadata.Uid, deployment.Spec.Replicas ?? 1) : ControllerScale.NotFound;
                    }
                    return new(rs.Metadata.Uid, rs.Spec.Replicas ?? 1);
                case "StatefulSet" when group == "apps":
                    var ss = await ReadAsync(() => _client.AppsV1.ReadNamespacedStatefulSetAsync(owner.Name, ns, cancellationToken: ct));
                    return ss?.Metadata.Uid == owner.Uid ? new(ss.Metadata.Uid, ss.Spec.Replicas ?? 1) : ControllerScale.NotFound;
            }
            var resource = await _scales.ResolveAsync(owner.ApiVersion, owner.Kind, ct);
            // The real scale client GETs .../scale and, on 404, asks discovery whether the resource has one.
            if (!resource.HasScale) return new(null, 0, $"{resource.GroupResource} does not implement the scale subresource");
            V1Scale? scale;
            try
            {
                scale = await _scales.GetAsync(resource, ns, owner.Name, ct);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return ControllerScale.NotFound;
            }
            return scale.Metadata?.Uid == owner.Uid ? new(scale.Metadata.Uid, scale.Spec?.Replicas ?? 0) : ControllerScale.NotFound;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new(null, 0, e.Message);
        }
    }

    /// <summary>The object, or null on 404 (the listers' only error).</summary>
    private static async Task<T?> ReadAsync<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read();
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary><c>nonTerminatingPodHasStaleDisruptionCondition</c> and <c>syncStalePodDisruption</c>.</summary>
    private async Task ClearStaleDisruptionAsync(V1Pod pod, CancellationToken ct)
    {
        if (pod.Metadata.DeletionTimestamp is not null || Objects.Pods.IsTerminal(pod)) return;
        var condition = Objects.Pods.Condition(pod, "DisruptionTarget");
        if (condition is not { Status: "True" } || condition.Reason == "TerminationByKubelet") return;
        if (_time.GetUtcNow().UtcDateTime - (condition.LastTransitionTime ?? DateTime.MinValue) < StalePodDisruptionTimeout) return;
        var conditions = pod.Status.Conditions
            .Select(c => c.Type == "DisruptionTarget" ? new V1PodCondition { Type = c.Type, Status = "False", LastTransitionTime = _time.GetUtcNow().UtcDateTime } : c)
            .ToList();
        var patch = new V1Patch(KubernetesJson.Serialize(new { metadata = new { resourceVersion = pod.Metadata.ResourceVersion }, status = new { conditions } }), V1Patch.PatchType.MergePatch);
        try
        {
            Pods.Upsert(await _client.CoreV1.PatchNamespacedPodStatusAsync(patch, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct));
            _log?.Invoke($"disruption: reset stale DisruptionTarget condition of {Objects.Pods.Key(pod.Metadata)} to False");
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
        }
    }

    private void Signal()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }
}
