using k8s;
using k8s.Models;
using LocalCluster.Objects;

namespace LocalCluster.Controllers.Disruption;

/// <summary>What the finders know of a Pod's controller: its uid and scale, or that none was found, or why the lookup failed.</summary>
/// <param name="Uid">The controller's uid (null when not found).</param>
/// <param name="Scale">Its desired replicas.</param>
/// <param name="Error">The lookup's error (the budget then fails safe).</param>
internal sealed record ControllerScale(string? Uid, int Scale, string? Error = null)
{
    /// <summary>No controller answered for the reference.</summary>
    public static readonly ControllerScale NotFound = new(null, 0);
}

/// <summary>An Event the disruption controller records.</summary>
/// <param name="Object">The object it is about (the budget or a Pod).</param>
/// <param name="Type"><c>Normal</c> or <c>Warning</c>.</param>
/// <param name="Reason">Its reason.</param>
/// <param name="Message">Its message.</param>
internal sealed record BudgetEvent(IKubernetesObject<V1ObjectMeta> Object, string Type, string Reason, string Message);

/// <summary>The result of one budget's sync.</summary>
/// <param name="Status">The status to write (the budget's current one when nothing changed).</param>
/// <param name="Changed">Whether <paramref name="Status"/> differs from the stored status (only then is it written).</param>
/// <param name="RecheckAt">When a disrupted Pod not yet deleted times out, so the budget must be synced again; null for never.</param>
/// <param name="Events">Events to record.</param>
/// <param name="Error">Why the sync failed (the status is then the fail-safe one), or null.</param>
internal sealed record BudgetSyncResult(V1PodDisruptionBudgetStatus Status, bool Changed, DateTime? RecheckAt, IReadOnlyList<BudgetEvent> Events, string? Error);

/// <summary>
/// The disruption controller's figures for one PodDisruptionBudget, as a pure function (kubernetes
/// <c>pkg/controller/disruption/disruption.go</c>, <c>trySync</c>, <c>getExpectedPodCount</c>,
/// <c>getExpectedScale</c>, <c>countHealthyPods</c>, <c>buildDisruptedPodMap</c>,
/// <c>updatePdbStatus</c>, <c>failSafe</c>):
/// <list type="bullet">
/// <item>maxUnavailable: expectedPods is the sum of the scales of the Pods' controllers, desiredHealthy
/// = expectedPods - maxUnavailable (a percentage of expectedPods rounded up), never below 0;</item>
/// <item>minAvailable as a number: desiredHealthy is that number and expectedPods the number of
/// selected Pods; as a percentage: expectedPods from the controllers, desiredHealthy the percentage
/// rounded up;</item>
/// <item>currentHealthy: selected Pods that are Ready, not being deleted, and not in disruptedPods;</item>
/// <item>disruptionsAllowed = currentHealthy - desiredHealthy, 0 when negative or when no Pod is expected;</item>
/// <item>disruptedPods entries older than 2 minutes whose Pod was not deleted are dropped (a
/// <c>NotDeleted</c> Event); the earliest expiry is when to sync again;</item>
/// <item>the <c>DisruptionAllowed</c> condition is True/<c>SufficientPods</c> or False/<c>InsufficientPods</c>
/// (<c>component-helpers/apps/poddisruptionbudget</c>); observedGeneration is the budget's generation;</item>
/// <item>a failure (no controller for a Pod, a lookup error, a bad value) writes the fail-safe
/// status: disruptionsAllowed 0 and DisruptionAllowed False/<c>SyncFailed</c> with the error.</item>
/// </list>
/// </summary>
internal static class BudgetSync
{
    /// <summary>How long a Pod the eviction API admitted may take to be deleted (<c>DeletionTimeout</c>).</summary>
    public static readonly TimeSpan DeletionTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Computes the budget's status.</summary>
    /// <param name="pdb">The budget (its current status included).</param>
    /// <param name="pods">The Pods of its namespace that its selector selects.</param>
    /// <param name="scaleOf">The finders' answer for a Pod's controller reference (only asked when the figures need scales).</param>
    /// <param name="now">The current time.</param>
    public static BudgetSyncResult Compute(V1PodDisruptionBudget pdb, IReadOnlyList<V1Pod> pods, Func<V1OwnerReference, ControllerScale> scaleOf, DateTime now)
    {
        pdb.ApiVersion ??= "policy/v1";
        pdb.Kind ??= "PodDisruptionBudget";
        var events = new List<BudgetEvent>();
        if (pods.Count == 0) events.Add(new(pdb, "Normal", "NoPods", "No matching pods found"));

        int expected, desired;
        List<string> unmanaged;
        try
        {
            (expected, desired, unmanaged) = ExpectedPodCount(pdb, pods, scaleOf);
        }
        catch (BudgetException e)
        {
            events.Add(new(pdb, "Warning", "CalculateExpectedPodCountFailed", $"Failed to calculate the number of expected pods: {e.Message}"));
            return FailSafe(pdb, e.Message, events, now);
        }
        if (unmanaged.Count > 0)
        {
            events.Add(new(pdb, "Warning", "UnmanagedPods",
                $"Pods selected by this PodDisruptionBudget (selector: {KubernetesJson.Serialize(pdb.Spec?.Selector)}) were found to be unmanaged. "
                + "As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "
                + "To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."));
        }

        var (disrupted, recheck) = DisruptedPods(pdb, pods, now, events);
        var healthy = pods.Count(p => p.Metadata.DeletionTimestamp is null && !disrupted.ContainsKey(p.Metadata.Name) && Pods.IsReady(p));
        var allowed = expected <= 0 || healthy - desired <= 0 ? 0 : healthy - desired;

        var old = pdb.Status ?? new V1PodDisruptionBudgetStatus();
        var conditions = Copy(old.Conditions);
        var status = new V1PodDisruptionBudgetStatus
        {
            CurrentHealthy = healthy,
            DesiredHealthy = desired,
            ExpectedPods = expected,
            DisruptionsAllowed = allowed,
            DisruptedPods = disrupted.Count == 0 ? null : disrupted.ToDictionary(kv => kv.Key, kv => (DateTime?)kv.Value, StringComparer.Ordinal),
            ObservedGeneration = pdb.Metadata.Generation,
            Conditions = conditions,
        };
        SetAllowedCondition(status, now);
        var unchanged = old.CurrentHealthy == healthy && old.DesiredHealthy == desired && old.ExpectedPods == expected
            && old.DisruptionsAllowed == allowed && SameMap(old.DisruptedPods, disrupted)
            && old.ObservedGeneration == pdb.Metadata.Generation && ConditionsUpToDate(pdb);
        return new BudgetSyncResult(unchanged ? old : status, !unchanged, recheck, events, null);
    }

    /// <summary>The <c>DisruptionAllowed</c> condition for the status' disruptionsAllowed (<c>UpdateDisruptionAllowedCondition</c>).</summary>
    public static void SetAllowedCondition(V1PodDisruptionBudgetStatus status, DateTime now)
    {
        status.Conditions ??= [];
        Conditions.Set(status.Conditions, status.DisruptionsAllowed > 0
            ? new V1Condition { Type = "DisruptionAllowed", Status = "True", Reason = "SufficientPods", Message = "", ObservedGeneration = status.ObservedGeneration }
            : new V1Condition { Type = "DisruptionAllowed", Status = "False", Reason = "InsufficientPods", Message = "", ObservedGeneration = status.ObservedGeneration },
            now);
    }

    private static (int Expected, int Desired, List<string> Unmanaged) ExpectedPodCount(
        V1PodDisruptionBudget pdb, IReadOnlyList<V1Pod> pods, Func<V1OwnerReference, ControllerScale> scaleOf)
    {
        var spec = pdb.Spec ?? new V1PodDisruptionBudgetSpec();
        if (spec.MaxUnavailable is { } maxUnavailable)
        {
            var (expected, unmanaged) = ExpectedScale(pods, scaleOf);
            var desired = Math.Max(0, expected - Scaled(maxUnavailable, expected));
            return (expected, desired, unmanaged);
        }
        if (spec.MinAvailable is { } minAvailable)
        {
            if (!IntOrPercent.IsPercent(minAvailable)) return (pods.Count, Scaled(minAvailable, 0), []);
            var (expected, unmanaged) = ExpectedScale(pods, scaleOf);
            return (expected, Scaled(minAvailable, expected), unmanaged);
        }
        return (0, 0, []);
    }

    private static (int Expected, List<string> Unmanaged) ExpectedScale(IReadOnlyList<V1Pod> pods, Func<V1OwnerReference, ControllerScale> scaleOf)
    {
        var scales = new Dictionary<string, int>(StringComparer.Ordinal);
        var unmanaged = new List<string>();
        foreach (var pod in pods)
        {
            if (Pods.ControllerOf(pod.Metadata) is not { } owner)
            {
                unmanaged.Add(pod.Metadata.Name);
                continue;
            }
            if (scales.ContainsKey(owner.Uid)) continue;
            var found = scaleOf(owner);
            if (found.Error is not null) throw new BudgetException(found.Error);
            if (found.Uid is null) throw new BudgetException($"found no controllers for pod \"{pod.Metadata.Name}\"");
            scales[found.Uid] = found.Scale;
        }
        return (scales.Values.Sum(), unmanaged);
    }

    private static (Dictionary<string, DateTime> Map, DateTime? Recheck) DisruptedPods(V1PodDisruptionBudget pdb, IReadOnlyList<V1Pod> pods, DateTime now, List<BudgetEvent> events)
    {
        var result = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        DateTime? recheck = null;
        var recorded = pdb.Status?.DisruptedPods;
        if (recorded is null) return (result, null);
        foreach (var pod in pods)
        {
            if (pod.Metadata.DeletionTimestamp is not null || !recorded.TryGetValue(pod.Metadata.Name, out var recordedAt) || recordedAt is not { } at) continue;
            var expectedDeletion = at + DeletionTimeout;
            if (expectedDeletion < now)
            {
                pod.ApiVersion ??= "v1";
                pod.Kind ??= "Pod";
                // The controller's own wording, which names the namespace twice.
                events.Add(new(pod, "Warning", "NotDeleted", $"Pod was expected by PDB {pdb.Metadata.NamespaceProperty}/{pdb.Metadata.NamespaceProperty} to be deleted but it wasn't"));
                continue;
            }
            if (recheck is null || expectedDeletion < recheck) recheck = expectedDeletion;
            result[pod.Metadata.Name] = at;
        }
        return (result, recheck);
    }

    private static BudgetSyncResult FailSafe(V1PodDisruptionBudget pdb, string error, List<BudgetEvent> events, DateTime now)
    {
        var old = pdb.Status ?? new V1PodDisruptionBudgetStatus();
        var status = KubernetesJson.Deserialize<V1PodDisruptionBudgetStatus>(KubernetesJson.Serialize(old));
        status.DisruptionsAllowed = 0;
        status.Conditions ??= [];
        Conditions.Set(status.Conditions, new V1Condition
        {
            Type = "DisruptionAllowed", Status = "False", Reason = "SyncFailed", Message = error, ObservedGeneration = status.ObservedGeneration,
        }, now);
        var changed = KubernetesJson.Serialize(status) != KubernetesJson.Serialize(old);
        return new BudgetSyncResult(status, changed, null, events, error);
    }

    /// <summary><c>ConditionsAreUpToDate</c>: DisruptionAllowed present, generation observed, and status/reason matching disruptionsAllowed.</summary>
    private static bool ConditionsUpToDate(V1PodDisruptionBudget pdb)
    {
        var status = pdb.Status;
        var condition = status?.Conditions?.FirstOrDefault(c => c.Type == "DisruptionAllowed");
        if (condition is null || status!.ObservedGeneration != pdb.Metadata.Generation) return false;
        return status.DisruptionsAllowed > 0
            ? condition is { Status: "True", Reason: "SufficientPods" }
            : condition is { Status: "False", Reason: "InsufficientPods" };
    }

    private static int Scaled(IntOrString value, int total)
    {
        try
        {
            return IntOrPercent.Scaled(value, total, roundUp: true);
        }
        catch (FormatException e)
        {
            throw new BudgetException(e.Message);
        }
    }

    private static List<V1Condition> Copy(IList<V1Condition>? conditions) =>
        conditions is null ? [] : KubernetesJson.Deserialize<List<V1Condition>>(KubernetesJson.Serialize(conditions));

    private static bool SameMap(IDictionary<string, DateTime?>? a, Dictionary<string, DateTime> b) =>
        (a?.Count ?? 0) == b.Count && (a is null || a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value));

    private sealed class BudgetException(string message) : Exception(message);
}
