using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// The environment Kubernetes gives a container: the image's ENV (the runtime puts it first:
/// containerd <c>WithEnv(imageConfig.Env)</c>, with <c>PATH</c> defaulted and <c>HOSTNAME</c> the
/// Pod's name), then the service variables of the <c>kubernetes</c> Service (always given, whatever
/// <c>enableServiceLinks</c> says; host and port from the Endpoints <c>default/kubernetes</c>,
/// since this node has no Service proxy), then <c>envFrom</c>, then <c>env</c> (values with
/// <c>$(VAR)</c> expansion, <c>secretKeyRef</c>, <c>configMapKeyRef</c>, <c>fieldRef</c>,
/// <c>resourceFieldRef</c>), as the kubelet's <c>makeEnvironmentVariables</c> does (kubernetes
/// pkg/kubelet/kubelet_pods.go; the service variables' names from pkg/kubelet/envvars/envvars.go,
/// <c>FromServices</c>).
/// </summary>
internal static partial class ContainerEnvironment
{
    /// <summary>Thrown when a referenced Secret, ConfigMap or key is missing (CreateContainerConfigError).</summary>
    public sealed class ConfigException(string message) : Exception(message);

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")]
    private static partial Regex Reference();

    /// <summary>
    /// The container's environment: <c>Merged</c> is what the process gets (image first), <c>Own</c>
    /// the kubelet's variables alone, against which <c>$(VAR)</c> in command and args expands.
    /// </summary>
    public static async Task<(Dictionary<string, string> Merged, Dictionary<string, string> Own)> BuildAsync(
        IKubernetes client, V1Pod pod, V1Container container, IReadOnlyList<string> imageEnv, (string Host, int Port)? master, string podIp, string hostIp, CancellationToken ct)
    {
        var ns = pod.Metadata.NamespaceProperty ?? "default";
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (master is var (host, port))
        {
            var p = port.ToString(CultureInfo.InvariantCulture);
            env["KUBERNETES_SERVICE_HOST"] = host;
            env["KUBERNETES_SERVICE_PORT"] = p;
            env["KUBERNETES_SERVICE_PORT_HTTPS"] = p;
            env["KUBERNETES_PORT"] = $"tcp://{host}:{p}";
            env[$"KUBERNETES_PORT_{p}_TCP"] = $"tcp://{host}:{p}";
            env[$"KUBERNETES_PORT_{p}_TCP_PROTO"] = "tcp";
            env[$"KUBERNETES_PORT_{p}_TCP_PORT"] = p;
            env[$"KUBERNETES_PORT_{p}_TCP_ADDR"] = host;
        }

        var secrets = new Dictionary<string, V1Secret?>(StringComparer.Ordinal);
        var configMaps = new Dictionary<string, V1ConfigMap?>(StringComparer.Ordinal);
        async Task<V1Secret?> Secret(string name)
        {
            if (!secrets.TryGetValue(name, out var s))
            {
                try
                {
                    s = await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct);
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    s = null;
                }
                secrets[name] = s;
            }
            return s;
        }
        async Task<V1ConfigMap?> ConfigMap(string name)
        {
            if (!configMaps.TryGetValue(name, out var c))
            {
                try
                {
                    c = await client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct);
                }
                catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    c = null;
                }
                configMaps[name] = c;
            }
            return c;
        }

        foreach (var from in container.EnvFrom ?? [])
        {
            if (from.SecretRef is { } sr)
            {
                var s = await Secret(sr.Name);
                if (s is null)
                {
                    if (sr.Optional == true) continue;
                    throw new ConfigException($"secret \"{sr.Name}\" not found");
                }
                foreach (var (k, v) in s.Data ?? new Dictionary<string, byte[]>()) env[from.Prefix + k] = Encoding.UTF8.GetString(v);
            }
            if (from.ConfigMapRef is { } cr)
            {
                var c = await ConfigMap(cr.Name);
                if (c is null)
                {
                    if (cr.Optional == true) continue;
                    throw new ConfigException($"configmap \"{cr.Name}\" not found");
                }
                foreach (var (k, v) in c.Data ?? new Dictionary<string, string>()) env[from.Prefix + k] = v;
            }
        }

        foreach (var e in container.Env ?? [])
        {
            if (e.ValueFrom is null)
            {
                env[e.Name] = Expand(e.Value ?? "", env);
                continue;
            }
            if (e.ValueFrom.SecretKeyRef is { } skr)
            {
                var s = await Secret(skr.Name);
                if (s?.Data is { } data && data.TryGetValue(skr.Key, out var bytes)) env[e.Name] = Encoding.UTF8.GetString(bytes);
                else if (skr.Optional != true)
                {
                    throw new ConfigException(s is null ? $"secret \"{skr.Name}\" not found" : $"couldn't find key {skr.Key} in Secret {ns}/{skr.Name}");
                }
            }
            else if (e.ValueFrom.ConfigMapKeyRef is { } ckr)
            {
                var c = await ConfigMap(ckr.Name);
                if (c?.Data is { } data && data.TryGetValue(ckr.Key, out var value)) env[e.Name] = value;
                else if (ckr.Optional != true)
                {
                    throw new ConfigException(c is null ? $"configmap \"{ckr.Name}\" not found" : $"couldn't find key {ckr.Key} in ConfigMap {ns}/{ckr.Name}");
                }
            }
            else if (e.ValueFrom.FieldRef is { } fr)
            {
                env[e.Name] = FieldValue(pod, fr.FieldPath, podIp, hostIp);
            }
            else if (e.ValueFrom.ResourceFieldRef is { } rr)
            {
                env[e.Name] = ResourceValue(pod, container, rr);
            }
        }

        // The runtime's merge: the image's ENV first, the kubelet's variables over it. $(VAR) above saw
        // only the kubelet's own (the kubelet does not know the image's environment).
        var merged = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        };
        foreach (var entry in imageEnv)
        {
            var kv = entry.Split('=', 2);
            merged[kv[0]] = kv.Length == 2 ? kv[1] : "";
        }
        merged["HOSTNAME"] = pod.Metadata.Name;
        foreach (var (k, v) in env) merged[k] = v;
        return (merged, env);
    }

    /// <summary>The downward API's fields (pkg/fieldpath/fieldpath.go plus the kubelet's status fields).</summary>
    public static string FieldValue(V1Pod pod, string path, string podIp, string hostIp)
    {
        var m = pod.Metadata;
        if (path.StartsWith("metadata.labels['", StringComparison.Ordinal))
        {
            return m.Labels.Value(path[17..^2]) ?? "";
        }
        if (path.StartsWith("metadata.annotations['", StringComparison.Ordinal))
        {
            return m.Annotations.Value(path[22..^2]) ?? "";
        }
        return path switch
        {
            "metadata.name" => m.Name,
            "metadata.namespace" => m.NamespaceProperty ?? "default",
            "metadata.uid" => m.Uid ?? "",
            "spec.nodeName" => pod.Spec.NodeName ?? "",
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "default",
            "status.podIP" or "status.podIPs" => podIp,
            "status.hostIP" or "status.hostIPs" => hostIp,
            _ => throw new ConfigException($"unsupported fieldRef {path}"),
        };
    }

    public static string ResourceValue(V1Pod pod, V1Container container, V1ResourceFieldSelector r)
    {
        var target = r.ContainerName is { Length: > 0 } name ? pod.Spec.Containers.First(c => c.Name == name) : container;
        var parts = r.Resource.Split('.');
        var list = parts[0] == "limits" ? target.Resources?.Limits : target.Resources?.Requests;
        if (list is null || !list.TryGetValue(parts[1], out var q))
        {
            // Unset limits read as the node's allocatable amount; this node does not cap anything.
            return parts[1] == "cpu" ? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) : "0";
        }
        var divisor = r.Divisor?.ToDecimal() ?? 1m;
        return Math.Ceiling(q.ToDecimal() / divisor).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary><c>$(VAR)</c> of variables defined before; <c>$$</c> escapes; unknown references stay as written.</summary>
    public static string Expand(string value, Dictionary<string, string> env) =>
        Reference().Replace(value, m => m.Value == "$$" ? "$" : env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
}
