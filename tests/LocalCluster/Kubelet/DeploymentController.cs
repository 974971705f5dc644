using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// The Deployment and ReplicaSet controllers folded into one, as users and the operator see them:
/// Pods named <c>&lt;deployment&gt;-&lt;pod-template-hash&gt;-&lt;5 chars&gt;</c> with the
/// <c>pod-template-hash</c> label and an ownerReference to the Deployment (there are no ReplicaSet
/// objects), rolling updates bounded by maxSurge and maxUnavailable (or Recreate), and the
/// Deployment's status: observedGeneration, replicas, updatedReplicas, readyReplicas,
/// availableReplicas, unavailableReplicas and the Available and Progressing conditions
/// (kubernetes pkg/controller/deployment/rolling.go, sync.go, util/deployment_util.go).
/// </summary>
internal sealed class DeploymentController(ControllerManager.IControllerContext context)
{
    private const string HashLabel = "pod-template-hash";
    private const string SafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private readonly Dictionary<string, string> _writtenStatus = [];
    private readonly Dictionary<string, (string Counts, DateTime Since)> _progress = [];

    public async Task SyncAsync(CancellationToken ct)
    {
        var pods = context.Pods.Snapshot();
        foreach (var d in context.Deployments.Snapshot())
        {
            if (d.Metadata.DeletionTimestamp is not null) continue;
            var owned = pods.Where(p => p.Metadata.OwnerReferences?.Any(r => r.Uid == d.Metadata.Uid && r.Controller == true) == true).ToList();
            await SyncOneAsync(d, owned, ct);
        }

        // Pods whose owning Deployment is gone (garbage collection normally deletes them first).
        var deployments = context.Deployments.Snapshot().Select(d => d.Metadata.Uid).ToHashSet();
        foreach (var orphan in pods.Where(p => p.Metadata.DeletionTimestamp is null
            && p.Metadata.OwnerReferences?.FirstOrDefault(r => r.Controller == true) is { Kind: "Deployment" } r && !deployments.Contains(r.Uid)))
        {
            await DeletePodAsync(orphan, "its Deployment is gone", ct);
        }
    }

    private async Task SyncOneAsync(V1Deployment d, List<V1Pod> owned, CancellationToken ct)
    {
        var hash = TemplateHash(d.Spec.Template);
        var active = owned.Where(p => !context.IsTerminating(p)).ToList();
        var current = active.Where(p => p.Metadata.Labels.Value(HashLabel) == hash).ToList();
        var old = active.Except(current).ToList();
        var desired = d.Spec.Replicas ?? 1;
        var (maxSurge, maxUnavailable) = Bounds(d, desired);

        if (d.Spec.Paused != true)
        {
            if (d.Spec.Strategy?.Type == "Recreate")
            {
                foreach (var p in old) await DeletePodAsync(p, "Recreate: old template", ct);
                if (old.Count == 0 && owned.Count == active.Count)
                {
                    for (var i = current.Count; i < desired; i++)
                    {
                        if (await CreatePodAsync(d, hash, ct) is null) break;
                    }
                }
                foreach (var p in Surplus(current, current.Count - desired)) await DeletePodAsync(p, "scaled down", ct);
            }
            else
            {
                await RollAsync(d, hash, current, old, desired, maxSurge, maxUnavailable, ct);
            }
        }

        await WriteStatusAsync(d, hash, active, current, old, desired, maxUnavailable, ct);
    }

    /// <summary>One step of a rolling update (rolling.go: reconcileNewReplicaSet, then reconcileOldReplicaSets).</summary>
    private async Task RollAsync(V1Deployment d, string hash, List<V1Pod> current, List<V1Pod> old, int desired, int maxSurge, int maxUnavailable, CancellationToken ct)
    {
        // Scale the new "ReplicaSet" up to desired, never past desired + maxSurge Pods in all.
        if (current.Count < desired)
        {
            var room = desired + maxSurge - (current.Count + old.Count);
            var create = Math.Min(room, desired - current.Count);
            for (var i = 0; i < create; i++)
            {
                if (await CreatePodAsync(d, hash, ct) is not { } created) break;
                current.Add(created);
            }
        }
        else if (current.Count > desired)
        {
            foreach (var p in Surplus(current, current.Count - desired))
            {
                await DeletePodAsync(p, "scaled down", ct);
                current.Remove(p);
            }
        }
        if (old.Count == 0) return;

        // Scale old Pods down without going below desired - maxUnavailable available Pods; unready old
        // Pods go first, as they count for nothing (cleanupUnhealthyReplicas).
        var minAvailable = desired - maxUnavailable;
        var newUnavailable = current.Count(p => !IsReady(p));
        var maxCleanup = current.Count + old.Count - minAvailable - newUnavailable;
        foreach (var p in old.Where(p => !IsReady(p)).Take(Math.Max(maxCleanup, 0)).ToList())
        {
            await DeletePodAsync(p, "rolling update: old template, not ready", ct);
            old.Remove(p);
        }
        var available = current.Count(IsReady) + old.Count(IsReady);
        var scaleDown = Math.Min(available - minAvailable, old.Count);
        // Never more Pods than desired go away beyond what new ready Pods replace.
        foreach (var p in Surplus(old, scaleDown)) await DeletePodAsync(p, "rolling update: old template", ct);
    }

    /// <summary>The Pods to delete first when scaling down: unready before ready, then newest first (controller.ActivePods ordering).</summary>
    private static List<V1Pod> Surplus(List<V1Pod> pods, int count) =>
        count <= 0 ? [] : [.. pods.OrderBy(p => IsReady(p) ? 1 : 0).ThenByDescending(p => p.Metadata.CreationTimestamp).Take(count)];

    /// <summary>
    /// Creates one Pod of the template; null when the API server refuses it. A refusal is not final:
    /// a Pod whose ServiceAccount does not exist yet (403 from ServiceAccount admission, until the
    /// objects applied with the Deployment are all there) or any other error is tried again at the next
    /// pass, with a Warning <c>FailedCreate</c> Event <c>Error creating: ...</c>, as the ReplicaSet
    /// controller records it and requeues its ReplicaSet (<c>pkg/controller/controller_utils.go</c>,
    /// <c>createPods</c>; <c>pkg/controller/replicaset/replica_set.go</c>, <c>manageReplicas</c>,
    /// which stops a batch at its first error).
    /// </summary>
    private async Task<V1Pod?> CreatePodAsync(V1Deployment d, string hash, CancellationToken ct)
    {
        var template = d.Spec.Template;
        var labels = new Dictionary<string, string>(template.Metadata?.Labels ?? new Dictionary<string, string>()) { [HashLabel] = hash };
        var spec = KubernetesJson.Deserialize<V1PodSpec>(KubernetesJson.Serialize(template.Spec));
        var pod = new V1Pod
        {
            ApiVersion = V1Pod.KubeApiVersion,
            Kind = V1Pod.KubeKind,
            Metadata = new V1ObjectMeta
            {
                Name = $"{d.Metadata.Name}-{hash}-{Random(5)}",
                NamespaceProperty = d.Metadata.NamespaceProperty,
                Labels = labels,
                Annotations = template.Metadata?.Annotations,
                Finalizers = [Kubelet.PodFinalizer],
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = "apps/v1", Kind = "Deployment", Name = d.Metadata.Name, Uid = d.Metadata.Uid,
                        Controller = true, BlockOwnerDeletion = true,
                    },
                ],
            },
            Spec = spec,
        };
        d.Kind ??= V1Deployment.KubeKind;
        d.ApiVersion ??= "apps/v1";
        V1Pod created;
        try
        {
            created = await context.Client.CoreV1.CreateNamespacedPodAsync(pod, d.Metadata.NamespaceProperty, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e)
        {
            // The ReplicaSet controller names its Pods by generateName, so its message names "<rs>-";
            // worded the same, repeats of one refusal are one Event.
            var message = StatusMessage(e).Replace($"\"{pod.Metadata.Name}\"", $"\"{d.Metadata.Name}-{hash}-\"", StringComparison.Ordinal);
            Log.Write($"deployment {d.Metadata.NamespaceProperty}/{d.Metadata.Name}: error creating a pod ({(int)e.Response.StatusCode}), trying again: {message}");
            context.ControllerEvents.Record(d, "Warning", "FailedCreate", $"Error creating: {message}");
            return null;
        }
        context.Pods.Upsert(created);
        Log.Write($"deployment {d.Metadata.NamespaceProperty}/{d.Metadata.Name}: created pod {created.Metadata.Name}");
        context.ControllerEvents.Record(d, "Normal", "SuccessfulCreate", $"Created pod: {created.Metadata.Name}");
        return created;
    }

    /// <summary>The <c>message</c> of the API server's Status body, else the body itself.</summary>
    private static string StatusMessage(k8s.Autorest.HttpOperationException e)
    {
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(e.Response.Content)?["message"]?.GetValue<string>() is { } message) return message;
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return e.Response.Content is { Length: > 0 } body ? body : e.Message;
    }

    private async Task DeletePodAsync(V1Pod pod, string why, CancellationToken ct)
    {
        try
        {
            await context.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
        var marked = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));
        marked.Metadata.DeletionTimestamp ??= DateTime.UtcNow;
        context.Pods.Upsert(marked);
        Log.Write($"pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}: deleting ({why})");
    }

    private async Task WriteStatusAsync(V1Deployment d, string hash, List<V1Pod> active, List<V1Pod> current, List<V1Pod> old, int desired, int maxUnavailable, CancellationToken ct)
    {
        var ready = active.Count(IsReady);
        var minReady = TimeSpan.FromSeconds(d.Spec.MinReadySeconds ?? 0);
        var available = active.Count(p => IsAvailable(p, minReady));
        var updatedAvailable = current.Count(p => IsAvailable(p, minReady));
        var rsName = $"{d.Metadata.Name}-{hash}";
        var isAvailable = available >= desired - maxUnavailable;
        var complete = current.Count == desired && updatedAvailable == desired && old.Count == 0;
        var previous = d.Status?.Conditions ?? [];
        var now = DateTime.UtcNow;
        V1DeploymentCondition Condition(string type, bool value, string reason, string message)
        {
            var status = value ? "True" : "False";
            var before = previous.FirstOrDefault(c => c.Type == type);
            var same = before is not null && before.Status == status;
            var unchanged = same && before!.Reason == reason && before.Message == message;
            return new V1DeploymentCondition
            {
                Type = type,
                Status = status,
                Reason = reason,
                Message = message,
                LastTransitionTime = same ? before!.LastTransitionTime : now,
                LastUpdateTime = unchanged ? before!.LastUpdateTime : now,
            };
        }
        var status = new V1DeploymentStatus
        {
            ObservedGeneration = d.Metadata.Generation,
            Replicas = active.Count,
            UpdatedReplicas = current.Count,
            ReadyReplicas = ready,
            AvailableReplicas = available,
            UnavailableReplicas = Math.Max(desired - available, 0) is var u && u > 0 ? u : null,
            Conditions =
            [
                isAvailable
                    ? Condition("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.")
                    : Condition("Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                complete
                    ? Condition("Progressing", true, "NewReplicaSetAvailable", $"ReplicaSet \"{rsName}\" has successfully progressed.")
                    : StalledSince(d, hash, current.Count, updatedAvailable, old.Count) > TimeSpan.FromSeconds(d.Spec.ProgressDeadlineSeconds ?? 600)
                        ? Condition("Progressing", false, "ProgressDeadlineExceeded", $"ReplicaSet \"{rsName}\" has timed out progressing.")
                        : Condition("Progressing", true, "ReplicaSetUpdated", $"ReplicaSet \"{rsName}\" is progressing."),
            ],
        };

        // Compare without the times, which only change along with something else.
        var key = $"{d.Metadata.Uid}";
        var comparable = KubernetesJson.Serialize(status with { Conditions = [.. status.Conditions.Select(c => c with { LastUpdateTime = null, LastTransitionTime = null })] });
        var cached = d.Status is null ? "" : KubernetesJson.Serialize(d.Status with { Conditions = d.Status.Conditions?.Select(c => c with { LastUpdateTime = null, LastTransitionTime = null }).ToList() });
        if (comparable == cached || (_writtenStatus.TryGetValue(key, out var w) && w == comparable)) return;
        try
        {
            var patch = new V1Patch(KubernetesJson.Serialize(new { status }), V1Patch.PatchType.MergePatch);
            var updated = await context.Client.AppsV1.PatchNamespacedDeploymentStatusAsync(patch, d.Metadata.Name, d.Metadata.NamespaceProperty, cancellationToken: ct);
            context.Deployments.Upsert(updated);
            _writtenStatus[key] = comparable;
            Log.Write($"deployment {d.Metadata.NamespaceProperty}/{d.Metadata.Name}: generation {d.Metadata.Generation}, {current.Count}/{desired} updated, {ready} ready, {available} available, {old.Count} old");
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>
    /// How long the rollout has made no progress: the time since the template, the number of
    /// updated or available updated Pods, or the number of old Pods last changed
    /// (progressDeadlineSeconds runs against it, as deployment_util.DeploymentTimedOut does).
    /// </summary>
    private TimeSpan StalledSince(V1Deployment d, string hash, int updated, int updatedAvailable, int old)
    {
        var counts = $"{hash}/{updated}/{updatedAvailable}/{old}";
        var key = d.Metadata.Uid ?? "";
        if (!_progress.TryGetValue(key, out var p) || p.Counts != counts) _progress[key] = p = (counts, DateTime.UtcNow);
        return DateTime.UtcNow - p.Since;
    }

    /// <summary>maxSurge (rounded up) and maxUnavailable (rounded down) of desired; both 0 reads as maxUnavailable 1 (deployment_util.ResolveFenceposts).</summary>
    private static (int Surge, int Unavailable) Bounds(V1Deployment d, int desired)
    {
        var ru = d.Spec.Strategy?.RollingUpdate;
        var surge = Resolve(ru?.MaxSurge, desired, roundUp: true);
        var unavailable = Resolve(ru?.MaxUnavailable, desired, roundUp: false);
        if (surge == 0 && unavailable == 0) unavailable = 1;
        return (surge, unavailable);
    }

    private static int Resolve(IntOrString? value, int desired, bool roundUp)
    {
        var text = value?.Value ?? "25%";
        if (text.EndsWith('%'))
        {
            var fraction = desired * int.Parse(text[..^1], CultureInfo.InvariantCulture) / 100.0;
            return (int)(roundUp ? Math.Ceiling(fraction) : Math.Floor(fraction));
        }
        return int.Parse(text, CultureInfo.InvariantCulture);
    }

    private static bool IsReady(V1Pod p) =>
        p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static bool IsAvailable(V1Pod p, TimeSpan minReady) =>
        p.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && c.Status == "True") is { } c
        && (minReady == TimeSpan.Zero || c.LastTransitionTime is null || DateTime.UtcNow - c.LastTransitionTime.Value >= minReady);

    /// <summary>
    /// The pod-template-hash: FNV-1a (32 bits) of the template's JSON, written in the
    /// consonants-and-digits alphabet of apimachinery's rand.SafeEncodeString, as
    /// controller.ComputeHash does (of the Go struct's dump there; of the JSON here).
    /// </summary>
    public static string TemplateHash(V1PodTemplateSpec template)
    {
        uint h = 2166136261;
        foreach (var b in Encoding.UTF8.GetBytes(KubernetesJson.Serialize(template)))
        {
            h ^= b;
            h *= 16777619;
        }
        var digits = h.ToString(CultureInfo.InvariantCulture);
        return new string([.. digits.Select(c => SafeAlphabet[c % SafeAlphabet.Length])]);
    }

    private static string Random(int n) =>
        new([.. Enumerable.Range(0, n).Select(_ => SafeAlphabet[RandomNumberGenerator.GetInt32(SafeAlphabet.Length)])]);
}
