using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Graceful deletion of Pods, as kube-apiserver's generic store does it for a strategy that
/// supports it (k8s.io/apiserver/pkg/registry/rest/delete.go, <c>BeforeDelete</c>, with
/// pkg/registry/core/pod/strategy.go, <c>podStrategy.CheckGracefulDelete</c>, and
/// k8s.io/apiserver/pkg/registry/generic/registry/store.go, <c>Delete</c>,
/// <c>updateForGracefulDeletionAndFinalizers</c>, <c>ShouldDeleteDuringUpdate</c>):
/// <list type="bullet">
/// <item>the grace period is the delete's <c>gracePeriodSeconds</c>, else the Pod's
/// <c>terminationGracePeriodSeconds</c> (30 when it has none, the default the fake does not write
/// into Pods); 0 for a Pod bound to no node or already Succeeded or Failed; a negative one is 1;</item>
/// <item>the Pod gets <c>deletionTimestamp</c> = now + the grace period and
/// <c>deletionGracePeriodSeconds</c>, its generation moves; with a grace period of 0 and no
/// finalizers it is deleted at once;</item>
/// <item>a Pod already being deleted only takes a shorter grace period (its deletionTimestamp moves
/// back by the difference); one whose grace period is already 0 is deleted (finalizers allowing);</item>
/// <item>an update that removes the last finalizer of a Pod being deleted deletes it only when its
/// grace period is 0.</item>
/// </list>
/// With <see cref="FakeKubeApiServerOptions.GracefulPodDeletion"/> (a real API server) a Pod whose
/// grace period is not 0 stays until the kubelet, its containers stopped, deletes it again with
/// <c>gracePeriodSeconds: 0</c> (pkg/kubelet/status/status_manager.go, <c>syncPod</c>). Without it a
/// Pod goes as soon as it has no finalizers, whatever its grace period: a Pod without finalizers at
/// once, one with finalizers when the last is removed (the local cluster's kubelet keeps its Pods
/// with a finalizer of its own and removes it once their containers are stopped).
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>The grace period of a Pod that sets none: pkg/apis/core/v1/defaults.go, <c>SetDefaults_PodSpec</c> (<c>DefaultTerminationGracePeriodSeconds</c>).</summary>
    public const long DefaultTerminationGracePeriodSeconds = 30;

    private static bool IsPod(ResourceKey key) => key.Group.Length == 0 && key.Resource == "pods";

    /// <summary><c>podStrategy.CheckGracefulDelete</c>: the grace period a delete of <paramref name="pod"/> gets.</summary>
    internal static long PodGracePeriod(JsonObject pod, long? requested)
    {
        var period = requested ?? JsonUtil.TryGetLong(pod["spec"]?["terminationGracePeriodSeconds"]) ?? DefaultTerminationGracePeriodSeconds;
        if (string.IsNullOrEmpty(JsonUtil.Str(pod["spec"]?["nodeName"]))) period = 0;
        if (JsonUtil.Str(pod["status"]?["phase"]) is "Succeeded" or "Failed") period = 0;
        return period < 0 ? 1 : period;
    }

    /// <summary><c>ShouldDeleteDuringUpdate</c>: may an update that leaves <paramref name="old"/> (being deleted) without finalizers delete it?</summary>
    private bool DeletesOnUpdate(StoredObject old)
    {
        var grace = JsonUtil.TryGetLong(old.Object["metadata"]?["deletionGracePeriodSeconds"]);
        return grace is null or 0 || (IsPod(old.Key) && !_options.GracefulPodDeletion);
    }

    private (JsonObject Object, bool Deleted) DeletePodLocked(StoredObject so, string propagation, long? requested)
    {
        var meta = (JsonObject)so.Object["metadata"]!;
        var finalizers = meta["finalizers"] is JsonArray { Count: > 0 };
        if (requested < 0) requested = 1;
        JsonObject candidate;
        long period;
        if (meta["deletionTimestamp"] is not null)
        {
            var current = JsonUtil.TryGetLong(meta["deletionGracePeriodSeconds"]);
            if (current is null or 0)
            {
                return finalizers ? (so.Object, false) : (FinalizeDeletion(so, null, propagation), true);
            }
            if (requested is not { } shorter || shorter >= current)
            {
                // Graceful deletion is pending: nothing changes.
                return (so.Object, false);
            }
            candidate = (JsonObject)so.Object.DeepClone();
            var due = DateTimeOffset.Parse(JsonUtil.Str(meta["deletionTimestamp"])!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            JsonUtil.Metadata(candidate)["deletionTimestamp"] = JsonUtil.FormatTime(due.AddSeconds(shorter - current.Value));
            JsonUtil.Metadata(candidate)["deletionGracePeriodSeconds"] = shorter;
            period = shorter;
        }
        else
        {
            period = PodGracePeriod(so.Object, requested);
            candidate = (JsonObject)so.Object.DeepClone();
            var m = JsonUtil.Metadata(candidate);
            m["deletionTimestamp"] = JsonUtil.FormatTime(_options.TimeProvider.GetUtcNow().AddSeconds(period));
            m["deletionGracePeriodSeconds"] = period;
            m["generation"] = (JsonUtil.TryGetLong(meta["generation"]) ?? 0) + 1;
        }

        JsonUtil.Normalize(candidate);
        if (finalizers || (period > 0 && _options.GracefulPodDeletion))
        {
            return (Commit(so.Key, so, candidate, "MODIFIED").Object, false);
        }
        return (FinalizeDeletion(so, candidate, propagation), true);
    }
}
