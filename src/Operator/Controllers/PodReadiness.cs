using System.Text.Json;
using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Controllers;

/// <summary>
/// Why the Pods of a UserApi are not ready, as the scheduler and the kubelet report it on each Pod:
/// a <c>PodScheduled=False</c> condition (the scheduler's <c>Unschedulable</c> reason and its message,
/// for example <c>0/3 nodes are available: 3 Insufficient cpu.</c>) or a container waiting for a
/// reason other than being created (<c>ErrImagePull</c>, <c>ImagePullBackOff</c>,
/// <c>CrashLoopBackOff</c>, <c>CreateContainerConfigError</c>...). The Deployment's status counts
/// unready Pods but never says why; the UserApi's Ready condition carries this instead
/// (<see cref="UserApiStatusBuilder"/>). Pods are found through the operator's labels, which the
/// Deployment's Pod template carries; the cache keeps of each only what is read here.
/// </summary>
public static class PodReadiness
{
    /// <summary>
    /// Name of the index of cached Pods by their UserApi (see <see cref="UserApiKey"/>), read with
    /// <see cref="Informer{T}.ByIndex"/>.
    /// </summary>
    public const string ByUserApi = "userapi";

    /// <summary>The waiting reasons of a container that is only starting: not a reason to report.</summary>
    private static readonly HashSet<string> Starting = new(StringComparer.Ordinal) { "ContainerCreating", "PodInitializing" };

    /// <summary>
    /// The slim Pod the cache keeps: name, namespace, uid, resource version and deletion time, the
    /// <c>app.kubernetes.io/instance</c> label (the UserApi's name), the <c>PodScheduled</c> condition
    /// when it is False, and the containers (init containers included) waiting for a reason other than
    /// starting, each with that reason and message. Not a <see cref="SlimObject"/>: a Pod is neither
    /// owned by the UserApi nor applied by this operator, so it has no owner to find and no applied
    /// digest, and its name, unique by construction, is not pooled.
    /// </summary>
    /// <exception cref="InvalidOperationException">A field read has the wrong JSON type.</exception>
    /// <exception cref="FormatException">The deletion time does not parse.</exception>
    public static V1Pod Decode(JsonElement json)
    {
        var metadata = json.GetProperty("metadata");
        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = SlimObject.String(metadata, "name"),
                NamespaceProperty = SlimObject.String(metadata, "namespace") is { } ns ? Transforms.Strings.Share(ns) : null,
                Uid = SlimObject.String(metadata, "uid"),
                ResourceVersion = SlimObject.String(metadata, "resourceVersion"),
                DeletionTimestamp = SlimObject.Time(metadata, "deletionTimestamp"),
            },
        };
        if (SlimObject.Member(metadata, "labels") is { } labels
            && SlimObject.String(labels, UserApiLabels.InstanceKey) is { } instance)
        {
            pod.Metadata.Labels = new Dictionary<string, string>(1, StringComparer.Ordinal) { [UserApiLabels.InstanceKey] = SlimObject.Identities.Share(instance) };
        }

        if (SlimObject.Member(json, "status") is not { } status)
        {
            return pod;
        }

        List<V1PodCondition>? conditions = null;
        if (SlimObject.Member(status, "conditions") is { } all)
        {
            foreach (var condition in all.EnumerateArray())
            {
                if (SlimObject.String(condition, "type") == "PodScheduled" && SlimObject.String(condition, "status") == Conditions.False)
                {
                    conditions = [new V1PodCondition { Type = "PodScheduled", Status = Conditions.False, Reason = SlimObject.String(condition, "reason"), Message = SlimObject.String(condition, "message") }];
                }
            }
        }

        List<V1ContainerStatus>? waiting = null;
        foreach (var field in new[] { "initContainerStatuses", "containerStatuses" })
        {
            if (SlimObject.Member(status, field) is not { } containers)
            {
                continue;
            }

            foreach (var container in containers.EnumerateArray())
            {
                if (SlimObject.Member(container, "state") is { } state
                    && SlimObject.Member(state, "waiting") is { } wait
                    && SlimObject.String(wait, "reason") is { } reason
                    && !Starting.Contains(reason))
                {
                    (waiting ??= []).Add(new V1ContainerStatus
                    {
                        Name = SlimObject.String(container, "name"),
                        State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = SlimObject.String(wait, "message") } },
                    });
                }
            }
        }

        if (conditions is not null || waiting is not null)
        {
            pod.Status = new V1PodStatus { Conditions = conditions, ContainerStatuses = waiting };
        }

        return pod;
    }

    /// <summary>
    /// The key (<c>namespace/name</c>) of the UserApi <paramref name="pod"/> belongs to, from its
    /// <c>app.kubernetes.io/instance</c> label; null for a Pod without it (or with it empty). The value of the
    /// <see cref="ByUserApi"/> index.
    /// </summary>
    public static string? UserApiKey(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        return pod.Metadata.Labels is { } labels && labels.TryGetValue(UserApiLabels.InstanceKey, out var name) && name.Length > 0 ? ObjectKey.Of(pod.Metadata.NamespaceProperty, name) : null;
    }

    /// <summary>
    /// Why <paramref name="pod"/> is not ready, or null when neither the scheduler nor the kubelet
    /// reports a reason (it may still be starting) or when it is being deleted. Reason: the
    /// scheduler's (<c>Unschedulable</c>) or the container's waiting reason; message: what the Pod says,
    /// naming the Pod and container.
    /// </summary>
    public static NotReadyReason? Why(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.Metadata.DeletionTimestamp is not null || pod.Status is not { } status)
        {
            return null;
        }

        var name = pod.Metadata.Name;
        if (status.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == Conditions.False) is { } unscheduled)
        {
            return new NotReadyReason(unscheduled.Reason ?? "Unschedulable", $"Pod {name} cannot be scheduled: {unscheduled.Message ?? unscheduled.Reason}");
        }

        if (status.ContainerStatuses?.FirstOrDefault() is { State.Waiting: { } waiting } container)
        {
            var detail = string.IsNullOrEmpty(waiting.Message) ? "" : $": {waiting.Message}";
            return new NotReadyReason(waiting.Reason, $"container {container.Name} of Pod {name} is waiting: {waiting.Reason}{detail}");
        }

        return null;
    }

    /// <summary>
    /// The reason to report for a UserApi whose Pods are <paramref name="pods"/>: an unschedulable Pod
    /// first (nothing else happens to it), then a waiting container; among alike, the Pod first by name,
    /// so that the status does not change with the cache's order. Null when no Pod reports a reason.
    /// </summary>
    public static NotReadyReason? Why(IEnumerable<V1Pod> pods)
    {
        ArgumentNullException.ThrowIfNull(pods);
        return pods
            .Select(pod => (Pod: pod, Why: Why(pod)))
            .Where(p => p.Why is not null)
            .OrderBy(p => p.Pod.Status!.Conditions is null ? 1 : 0)
            .ThenBy(p => p.Pod.Metadata.Name, StringComparer.Ordinal)
            .Select(p => p.Why)
            .FirstOrDefault();
    }

    /// <summary>
    /// The UserApi to reconcile for a change of a Pod (the map function of the controller's Pod watch):
    /// its key when what <see cref="Why(V1Pod)"/> says changed (a Pod added or deleted with a reason, a
    /// reason that came, went or changed), else null. Pods that only move through their normal states
    /// reconcile nothing, since the Deployment's status reports those.
    /// </summary>
    public static string? Changed(InformerEvent<V1Pod> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var (before, after) = change.Type switch
        {
            InformerEventType.Added => (null, Why(change.Object)),
            InformerEventType.Modified => (change.OldObject is null ? null : Why(change.OldObject), Why(change.Object)),
            _ => (Why(change.OldObject ?? change.Object), null),
        };
        return before == after ? null : UserApiKey(change.Object);
    }
}

/// <summary>Why a UserApi's Pods are not ready (see <see cref="PodReadiness"/>).</summary>
/// <param name="Reason">CamelCase, as the scheduler or kubelet gives it: <c>Unschedulable</c>, <c>ImagePullBackOff</c>, <c>CrashLoopBackOff</c>...</param>
/// <param name="Message">Names the Pod (and container) and carries its message.</param>
public sealed record NotReadyReason(string Reason, string Message);
