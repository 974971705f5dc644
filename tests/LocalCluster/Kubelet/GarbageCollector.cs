using System.Text.Json;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// The garbage collector's dangling-owner rule (kubernetes pkg/controller/garbagecollector,
/// attemptToDeleteItem): an object all of whose owners are gone is deleted. The API server's own
/// cascade deletes the dependents an owner has when it goes; this catches the ones written after
/// that, e.g. by a controller that reconciled from a cache that still held the deleted owner (a real
/// cluster's collector deletes those too, so what users see here matches). Runs every few seconds
/// over the kinds this process caches.
/// </summary>
internal sealed class GarbageCollector(ControllerManager.IControllerContext context)
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(3);
    private DateTime _last = DateTime.MinValue;

    public async Task SyncAsync(CancellationToken ct)
    {
        if (DateTime.UtcNow - _last < Period) return;
        _last = DateTime.UtcNow;

        var dependents = new List<(IKubernetesObject<V1ObjectMeta> Obj, string Kind, Func<Task> Delete)>();
        void Add<T>(IEnumerable<T> items, string kind, Func<T, Task> delete)
            where T : IKubernetesObject<V1ObjectMeta>
        {
            foreach (var i in items.Where(i => i.Metadata.OwnerReferences is { Count: > 0 } && i.Metadata.DeletionTimestamp is null))
            {
                dependents.Add((i, kind, () => delete(i)));
            }
        }
        var c = context.Client.CoreV1;
        var propagation = "Background";
        Add(context.Deployments.Snapshot(), "Deployment", d => context.Client.AppsV1.DeleteNamespacedDeploymentAsync(d.Metadata.Name, d.Metadata.NamespaceProperty, propagationPolicy: propagation, cancellationToken: ct));
        Add(context.Services.Snapshot(), "Service", s => c.DeleteNamespacedServiceAsync(s.Metadata.Name, s.Metadata.NamespaceProperty, propagationPolicy: propagation, cancellationToken: ct));
        Add(context.Secrets.Snapshot(), "Secret", s => c.DeleteNamespacedSecretAsync(s.Metadata.Name, s.Metadata.NamespaceProperty, propagationPolicy: propagation, cancellationToken: ct));
        Add(context.Ingresses.Snapshot(), "Ingress", i => context.Client.NetworkingV1.DeleteNamespacedIngressAsync(i.Metadata.Name, i.Metadata.NamespaceProperty, propagationPolicy: propagation, cancellationToken: ct));
        Add(context.Pods.Snapshot(), "Pod", p => c.DeleteNamespacedPodAsync(p.Metadata.Name, p.Metadata.NamespaceProperty, propagationPolicy: propagation, cancellationToken: ct));

        var owners = new Dictionary<string, bool?>(StringComparer.Ordinal);
        foreach (var (obj, kind, delete) in dependents)
        {
            var ns = obj.Metadata.NamespaceProperty;
            var alive = false;
            foreach (var owner in obj.Metadata.OwnerReferences)
            {
                var key = $"{owner.ApiVersion}/{owner.Kind}/{ns}/{owner.Name}/{owner.Uid}";
                if (!owners.TryGetValue(key, out var exists)) owners[key] = exists = await ExistsAsync(owner, ns, ct);
                // Unknown (a kind this collector cannot look up): keep the object, as the real one waits.
                if (exists != false) alive = true;
            }
            if (alive) continue;
            try
            {
                await delete();
                Log.Write($"garbage collector: deleted {kind} {ns}/{obj.Metadata.Name}: its owners are gone");
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        }
    }

    /// <summary>True when the owner exists with that uid, false when it does not, null when it cannot tell.</summary>
    private async Task<bool?> ExistsAsync(V1OwnerReference owner, string? ns, CancellationToken ct)
    {
        IKubernetesObject<V1ObjectMeta>? cached = (owner.ApiVersion, owner.Kind) switch
        {
            ("apps/v1", "Deployment") => context.Deployments.Get(ns, owner.Name),
            ("v1", "Service") => context.Services.Get(ns, owner.Name),
            ("v1", "Secret") => context.Secrets.Get(ns, owner.Name),
            ("v1", "Pod") => context.Pods.Get(ns, owner.Name),
            ("networking.k8s.io/v1", "Ingress") => context.Ingresses.Get(ns, owner.Name),
            _ => null,
        };
        if (cached is not null) return cached.Metadata.Uid == owner.Uid;
        if (owner.ApiVersion is "apps/v1" or "v1" or "networking.k8s.io/v1") return false;

        // A custom resource: read it (plural from the kind, as for UserApi -> userapis).
        var parts = owner.ApiVersion.Split('/');
        if (parts.Length != 2 || ns is null) return null;
        try
        {
            var obj = await context.Client.CustomObjects.GetNamespacedCustomObjectAsync(parts[0], parts[1], ns, owner.Kind.ToLowerInvariant() + "s", owner.Name, ct);
            var json = obj is JsonElement e ? e : JsonSerializer.SerializeToElement(obj);
            return json.GetProperty("metadata").GetProperty("uid").GetString() == owner.Uid;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // The object is missing (details.name set), or the type is not served (cannot tell).
            return e.Response.Content.Contains($"\"name\":\"{owner.Name}\"", StringComparison.Ordinal) ? false : null;
        }
    }
}
