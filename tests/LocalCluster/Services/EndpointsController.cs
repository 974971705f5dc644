using System.Globalization;
using k8s;
using k8s.Models;
using LocalCluster.Kubelet;

namespace LocalCluster.Services;

/// <summary>
/// The Endpoints controller (kubernetes pkg/controller/endpoint): for every Service with a selector,
/// an Endpoints object of the same name whose addresses are the ready Pods the selector matches
/// (not-ready ones under notReadyAddresses; terminating ones left out), with each Service port's
/// targetPort resolved against the Pod's container ports (a named targetPort per Pod).
/// </summary>
internal sealed class EndpointsController(ControllerManager.IControllerContext context)
{
    public async Task SyncAsync(CancellationToken ct)
    {
        var pods = context.Pods.Snapshot();
        var services = context.Services.Snapshot();
        foreach (var svc in services)
        {
            if (svc.Spec.Selector is not { Count: > 0 } selector || svc.Metadata.DeletionTimestamp is not null) continue;
            var ns = svc.Metadata.NamespaceProperty;
            var subsets = new Dictionary<string, V1EndpointSubset>(StringComparer.Ordinal);
            foreach (var pod in pods.Where(p => p.Metadata.NamespaceProperty == ns && p.Status?.PodIP is { Length: > 0 }
                && selector.All(kv => p.Metadata.Labels.Value(kv.Key) == kv.Value))
                .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
            {
                if (context.IsTerminating(pod)) continue;
                var ports = Ports(svc, pod);
                if (ports is null) continue;
                var key = string.Join(',', ports.Select(p => $"{p.Name}:{p.Port}"));
                if (!subsets.TryGetValue(key, out var subset)) subsets[key] = subset = new V1EndpointSubset { Ports = ports };
                var address = new V1EndpointAddress
                {
                    Ip = pod.Status.PodIP,
                    NodeName = pod.Spec.NodeName,
                    TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod.Metadata.Name, NamespaceProperty = ns, Uid = pod.Metadata.Uid },
                };
                var ready = pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
                if (ready) (subset.Addresses ??= []).Add(address);
                else (subset.NotReadyAddresses ??= []).Add(address);
            }
            var desired = new V1Endpoints
            {
                ApiVersion = "v1",
                Kind = "Endpoints",
                Metadata = new V1ObjectMeta { Name = svc.Metadata.Name, NamespaceProperty = ns, Labels = svc.Metadata.Labels },
                Subsets = subsets.Count == 0 ? null : [.. subsets.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => s.Value)],
            };
            var existing = context.EndpointsCache.Get(ns, svc.Metadata.Name);
            if (existing is not null
                && KubernetesJson.Serialize(existing.Subsets ?? []) == KubernetesJson.Serialize(desired.Subsets ?? [])
                && KubernetesJson.Serialize(existing.Metadata.Labels ?? new Dictionary<string, string>()) == KubernetesJson.Serialize(desired.Metadata.Labels ?? new Dictionary<string, string>()))
            {
                continue;
            }
            try
            {
                V1Endpoints written;
                if (existing is null)
                {
                    written = await context.Client.CoreV1.CreateNamespacedEndpointsAsync(desired, ns, cancellationToken: ct);
                }
                else
                {
                    desired.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
                    written = await context.Client.CoreV1.ReplaceNamespacedEndpointsAsync(desired, svc.Metadata.Name, ns, cancellationToken: ct);
                }
                context.EndpointsCache.Upsert(written);
                var ready = desired.Subsets?.Sum(s => s.Addresses?.Count ?? 0) ?? 0;
                var notReady = desired.Subsets?.Sum(s => s.NotReadyAddresses?.Count ?? 0) ?? 0;
                Log.Write($"endpoints {ns}/{svc.Metadata.Name}: {ready} ready, {notReady} not ready");
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.NotFound)
            {
                // Someone else wrote it meanwhile; the next pass sees the new version.
            }
        }

        // Endpoints of Services that are gone.
        var names = services.Select(s => $"{s.Metadata.NamespaceProperty}/{s.Metadata.Name}").ToHashSet();
        foreach (var ep in context.EndpointsCache.Snapshot().Where(e => !names.Contains($"{e.Metadata.NamespaceProperty}/{e.Metadata.Name}")))
        {
            if (ep.Metadata.NamespaceProperty == "default" && ep.Metadata.Name == "kubernetes") continue;
            try
            {
                await context.Client.CoreV1.DeleteNamespacedEndpointsAsync(ep.Metadata.Name, ep.Metadata.NamespaceProperty, cancellationToken: ct);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
            context.EndpointsCache.Remove(ep.Metadata.NamespaceProperty, ep.Metadata.Name);
        }
    }

    /// <summary>The Service's ports with targetPort resolved for this Pod; null when a named port is missing.</summary>
    private static List<Corev1EndpointPort>? Ports(V1Service svc, V1Pod pod)
    {
        var result = new List<Corev1EndpointPort>();
        foreach (var sp in svc.Spec.Ports ?? [])
        {
            int port;
            var target = sp.TargetPort?.Value;
            if (target is null) port = sp.Port;
            else if (!int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out port))
            {
                var named = pod.Spec.Containers.SelectMany(c => c.Ports ?? []).FirstOrDefault(p => p.Name == target);
                if (named is null) return null;
                port = named.ContainerPort;
            }
            result.Add(new Corev1EndpointPort { Name = sp.Name, Port = port, Protocol = sp.Protocol ?? "TCP" });
        }
        return result;
    }
}
