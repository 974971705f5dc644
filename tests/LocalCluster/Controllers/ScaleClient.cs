using System.Net;
using k8s;
using k8s.Models;

namespace LocalCluster.Controllers;

/// <summary>A resource the scale client resolved from a kind: group, version, plural, and whether it serves <c>scale</c>.</summary>
/// <param name="Group">API group ("" for core).</param>
/// <param name="Version">API version.</param>
/// <param name="Plural">Resource name, e.g. <c>deployments</c>.</param>
/// <param name="HasScale">Whether discovery lists <c>plural/scale</c>.</param>
internal sealed record ScalableResource(string Group, string Version, string Plural, bool HasScale)
{
    /// <summary>The group-resource as Kubernetes prints it, e.g. <c>deployments.apps</c>, <c>userapis.userapi.example.com</c>.</summary>
    public string GroupResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}

/// <summary>
/// The <c>scale</c> subresource of any kind, as client-go's scale client and a discovery REST mapper
/// give it to the disruption and HPA controllers (<c>k8s.io/client-go/scale</c>,
/// <c>restmapper</c>): the kind is mapped to its resource through discovery of its group-version,
/// then <c>.../NAME/scale</c> is read or replaced as autoscaling/v1 <c>Scale</c>. Mappings are
/// cached; a kind discovery does not list is an error worded as the mapper's
/// (<c>no matches for kind "X" in version "g/v"</c>).
/// </summary>
internal sealed class ScaleClient(IKubernetes client)
{
    private readonly Dictionary<string, ScalableResource> _mappings = new(StringComparer.Ordinal);

    /// <summary>Maps <paramref name="apiVersion"/> and <paramref name="kind"/> to their resource.</summary>
    /// <exception cref="InvalidOperationException">Discovery does not list the kind.</exception>
    public async Task<ScalableResource> ResolveAsync(string apiVersion, string kind, CancellationToken ct)
    {
        var key = $"{apiVersion}/{kind}";
        lock (_mappings)
        {
            if (_mappings.TryGetValue(key, out var cached)) return cached;
        }
        var slash = apiVersion.IndexOf('/', StringComparison.Ordinal);
        var (group, version) = slash < 0 ? ("", apiVersion) : (apiVersion[..slash], apiVersion[(slash + 1)..]);
        V1APIResourceList resources;
        try
        {
            resources = group.Length == 0
                ? await client.CoreV1.GetAPIResourcesAsync(ct)
                : await client.CustomObjects.GetAPIResourcesAsync(group, version, ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"no matches for kind \"{kind}\" in version \"{apiVersion}\"");
        }
        var resource = resources.Resources.FirstOrDefault(r => r.Kind == kind && !r.Name.Contains('/', StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no matches for kind \"{kind}\" in version \"{apiVersion}\"");
        var mapping = new ScalableResource(group, version, resource.Name, resources.Resources.Any(r => r.Name == $"{resource.Name}/scale"));
        lock (_mappings) _mappings[key] = mapping;
        return mapping;
    }

    /// <summary>GET <c>.../namespaces/NS/PLURAL/NAME/scale</c>.</summary>
    public async Task<V1Scale> GetAsync(ScalableResource resource, string ns, string name, CancellationToken ct)
    {
        if (resource.Group.Length == 0 && resource.Plural == "replicationcontrollers")
        {
            return await client.CoreV1.ReadNamespacedReplicationControllerScaleAsync(name, ns, cancellationToken: ct);
        }
        var scale = await client.CustomObjects.GetNamespacedCustomObjectScaleAsync(resource.Group, resource.Version, ns, resource.Plural, name, ct);
        return KubernetesJson.Deserialize<V1Scale>(KubernetesJson.Serialize(scale));
    }

    /// <summary>PUT <c>.../namespaces/NS/PLURAL/NAME/scale</c> (the scale's resourceVersion, when set, is a precondition).</summary>
    public async Task<V1Scale> UpdateAsync(ScalableResource resource, string ns, string name, V1Scale scale, CancellationToken ct)
    {
        if (resource.Group.Length == 0 && resource.Plural == "replicationcontrollers")
        {
            return await client.CoreV1.ReplaceNamespacedReplicationControllerScaleAsync(scale, name, ns, cancellationToken: ct);
        }
        var updated = await client.CustomObjects.ReplaceNamespacedCustomObjectScaleAsync(scale, resource.Group, resource.Version, ns, resource.Plural, name, cancellationToken: ct);
        return KubernetesJson.Deserialize<V1Scale>(KubernetesJson.Serialize(updated));
    }
}
