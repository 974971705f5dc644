using k8s;
using k8s.Models;

namespace LocalCluster.Scheduler;

/// <summary>How the scheduler loop assigns a Pod to a node.</summary>
internal interface IPodBinder
{
    /// <summary>Binds <paramref name="pod"/> to <paramref name="nodeName"/>; throws when the API server refuses (e.g. 409: already bound).</summary>
    Task BindAsync(V1Pod pod, string nodeName, CancellationToken ct);
}

/// <summary>
/// Binding as kube-scheduler's DefaultBinder does it (kubernetes
/// <c>pkg/scheduler/framework/plugins/defaultbinder/default_binder.go</c>, <c>Bind</c>): a POST of a
/// <c>v1.Binding</c> (the Pod's name, namespace and uid; target Node NAME) to the Pod's
/// <c>binding</c> subresource. The API server sets <c>spec.nodeName</c> and the PodScheduled=True
/// condition in one write, and refuses a Pod already bound (409). Needs an API server that serves
/// <c>pods/binding</c>.
/// </summary>
internal sealed class BindingSubresourceBinder(IKubernetes client) : IPodBinder
{
    /// <inheritdoc/>
    public Task BindAsync(V1Pod pod, string nodeName, CancellationToken ct)
    {
        var binding = new V1Binding
        {
            ApiVersion = "v1",
            Kind = "Binding",
            Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty, Uid = pod.Metadata.Uid },
            Target = new V1ObjectReference { ApiVersion = "v1", Kind = "Node", Name = nodeName },
        };
        return client.CoreV1.CreateNamespacedPodBindingAsync(binding, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
    }
}

/// <summary>
/// The binding subresource's effect through ordinary writes, for an API server that does not serve
/// <c>pods/binding</c>: a merge patch of <c>spec.nodeName</c> with the Pod's uid and resourceVersion
/// as preconditions (so a Pod changed or replaced meanwhile is a 409, as a bound one would be),
/// then the PodScheduled=True condition through the status subresource (kube-apiserver's
/// <c>pkg/registry/core/pod/storage/storage.go</c>, <c>assignPod</c>, does both at once). A Pod
/// that already names a node is refused here, as the API server refuses it.
/// </summary>
internal sealed class NodeNamePatchBinder(IKubernetes client, TimeProvider? time = null) : IPodBinder
{
    /// <inheritdoc/>
    public async Task BindAsync(V1Pod pod, string nodeName, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(pod.Spec?.NodeName))
        {
            throw new InvalidOperationException($"pod {pod.Metadata.Name} is already assigned to node \"{pod.Spec.NodeName}\"");
        }
        var spec = new V1Patch(
            KubernetesJson.Serialize(new { metadata = new { uid = pod.Metadata.Uid, resourceVersion = pod.Metadata.ResourceVersion }, spec = new { nodeName } }),
            V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespacedPodAsync(spec, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
        var now = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        var conditions = (pod.Status?.Conditions ?? []).Where(c => c.Type != "PodScheduled").ToList();
        conditions.Add(new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now });
        var status = new V1Patch(KubernetesJson.Serialize(new { status = new { conditions } }), V1Patch.PatchType.MergePatch);
        await client.CoreV1.PatchNamespacedPodStatusAsync(status, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
    }
}
