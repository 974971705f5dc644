using System.Text;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// REST paths of the Kubernetes API (Kubernetes API concepts, "Resource URIs"):
/// <c>/api/v1[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]</c> for the core group and
/// <c>/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]]</c> for others.
/// Names, namespaces and query values are percent-encoded (RFC 3986).
/// </summary>
internal static class KubernetesUrls
{
    /// <summary>Path of a collection; a null namespace of a namespaced kind means all namespaces; namespaces of cluster-scoped kinds are ignored.</summary>
    public static string CollectionPath(KubernetesEntityAttribute entity, string? @namespace)
    {
        var path = new StringBuilder();
        path.Append(entity.Group.Length == 0 ? "/api/" : $"/apis/{entity.Group}/").Append(entity.ApiVersion);
        if (entity.Namespaced && !string.IsNullOrEmpty(@namespace))
        {
            path.Append("/namespaces/").Append(Uri.EscapeDataString(@namespace));
        }

        return path.Append('/').Append(entity.PluralName).ToString();
    }

    /// <summary>Path of one object, optionally of its subresource (<c>status</c>).</summary>
    /// <exception cref="ArgumentException">The name is empty, or the kind is namespaced and the namespace empty.</exception>
    public static string ItemPath(KubernetesEntityAttribute entity, string? @namespace, string name, string? subresource = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (entity.Namespaced && string.IsNullOrEmpty(@namespace))
        {
            throw new ArgumentException($"{entity.Kind} is namespaced: a namespace is required to address \"{name}\".", nameof(@namespace));
        }

        var path = CollectionPath(entity, @namespace) + "/" + Uri.EscapeDataString(name);
        return subresource is null ? path : path + "/" + subresource;
    }

    /// <summary>The absolute URL: the server URL (its path kept as a prefix), the path, and the query pairs whose value is not null.</summary>
    public static Uri Build(Uri server, string path, params ReadOnlySpan<(string Name, string? Value)> query)
    {
        var url = new StringBuilder(server.GetLeftPart(UriPartial.Path).TrimEnd('/')).Append(path);
        var separator = '?';
        foreach (var (name, value) in query)
        {
            if (value is null)
            {
                continue;
            }

            url.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return new Uri(url.ToString(), UriKind.Absolute);
    }
}
