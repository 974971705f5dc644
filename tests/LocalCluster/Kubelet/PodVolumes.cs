using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// The volumes of one Pod on this node, under <c>&lt;state&gt;/kubelet/pods/&lt;uid&gt;/volumes/&lt;plugin&gt;/&lt;name&gt;</c>
/// as the kubelet keeps them under /var/lib/kubelet/pods (<c>pkg/kubelet/kubelet_getters.go</c>,
/// <c>getPodVolumeDir</c>):
/// <list type="bullet">
/// <item><c>emptyDir</c> (<c>pkg/volume/emptydir/empty_dir.go</c>): a directory, mode 0777; <c>medium: Memory</c> a tmpfs
/// (<c>size=</c> the sizeLimit when set);</item>
/// <item><c>secret</c>, <c>configMap</c>, <c>downwardAPI</c>, <c>projected</c> (<c>pkg/volume/secret</c>, <c>configmap</c>,
/// <c>downwardapi</c>, <c>projected</c>): files per key written as <c>pkg/volume/util/atomic_writer.go</c> lays them out
/// (<c>..&lt;timestamp&gt;/</c>, the <c>..data</c> link to it, each top-level entry a link through <c>..data</c>),
/// <c>items</c>, <c>defaultMode</c>/<c>mode</c> and <c>optional</c> honoured; secrets and projected volumes on a tmpfs;
/// always mounted read-only (the kubelet forces that for these four kinds);</item>
/// <item>projected <c>serviceAccountToken</c> (<c>pkg/kubelet/token/token_manager.go</c>): a token from the TokenRequest API
/// (<c>POST .../serviceaccounts/NAME/token</c>, bound to the Pod), what the API server's ServiceAccount admission adds as
/// <c>kube-api-access-xxxxx</c> with <c>ca.crt</c> from ConfigMap <c>kube-root-ca.crt</c> and <c>namespace</c> from the downward API;</item>
/// <item><c>hostPath</c>: the host's path itself.</item>
/// </list>
/// With <c>fsGroup</c>, files get that group and group read (and write for writable volumes) and directories the setgid
/// bit (<c>pkg/volume/volume_linux.go</c>, <c>SetVolumeOwnership</c>). Not done: refreshing a token or a Secret's
/// files after the Pod started (the kubelet re-syncs them periodically).
/// </summary>
internal sealed class PodVolumes(Kubelet kubelet, V1Pod pod, string directory)
{
    /// <summary>Thrown when a volume cannot be set up (the Pod waits in ContainerCreating with a FailedMount event).</summary>
    public sealed class VolumeException(string volume, string message) : Exception($"MountVolume.SetUp failed for volume \"{volume}\" : {message}");

    private readonly Dictionary<string, (string Path, bool ForceReadOnly)> _ready = new(StringComparer.Ordinal);

    /// <summary>The Pod's directory (<c>&lt;state&gt;/kubelet/pods/&lt;uid&gt;</c>).</summary>
    public string Directory { get; } = directory;

    /// <summary>Sets up every volume not yet set up; throws <see cref="VolumeException"/> for the first that fails.</summary>
    public async Task SetUpAsync(string podIp, string hostIp, CancellationToken ct)
    {
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (_ready.ContainsKey(volume.Name)) continue;
            try
            {
                _ready[volume.Name] = await SetUpOneAsync(volume, podIp, hostIp, ct);
            }
            catch (VolumeException)
            {
                throw;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or k8s.Autorest.HttpOperationException or InvalidOperationException)
            {
                var message = e is k8s.Autorest.HttpOperationException h ? $"{h.Message}: {h.Response.Content}" : e.Message;
                throw new VolumeException(volume.Name, message);
            }
        }
    }

    /// <summary>The container's bind mounts for its volumeMounts (sources on the host, subPath applied).</summary>
    public List<OciMount> MountsFor(V1Container container)
    {
        var mounts = new List<OciMount>();
        foreach (var m in container.VolumeMounts ?? [])
        {
            if (!_ready.TryGetValue(m.Name, out var volume))
            {
                throw new ContainerEnvironment.ConfigException($"cannot find volume \"{m.Name}\" to mount into container \"{container.Name}\"");
            }
            var source = volume.Path;
            if (m.SubPath is { Length: > 0 } sub)
            {
                if (sub.StartsWith('/') || sub.Split('/').Contains(".."))
                {
                    throw new ContainerEnvironment.ConfigException($"failed to prepare subPath for volumeMount \"{m.Name}\" of container \"{container.Name}\"");
                }
                source = Path.Combine(source, sub);
                if (!Path.Exists(source)) System.IO.Directory.CreateDirectory(source);
            }
            mounts.Add(OciMount.Bind(m.MountPath, source, readOnly: m.ReadOnlyProperty == true || volume.ForceReadOnly));
        }
        return mounts;
    }

    /// <summary>Unmounts the Pod's tmpfs volumes and removes its directory (the volumes' data goes with the Pod).</summary>
    public async Task TearDownAsync()
    {
        if (!System.IO.Directory.Exists(Directory)) return;
        foreach (var mount in Native.MountsUnder(Directory)) Native.Unmount(mount);
        await Host.RunAsync("rm", ["-rf", "--one-file-system", Directory]);
    }

    private async Task<(string, bool)> SetUpOneAsync(V1Volume volume, string podIp, string hostIp, CancellationToken ct)
    {
        var fsGroup = pod.Spec.SecurityContext?.FsGroup;
        if (volume.EmptyDir is { } emptyDir)
        {
            var dir = VolumeDir("kubernetes.io~empty-dir", volume.Name);
            if (emptyDir.Medium == "Memory")
            {
                var size = emptyDir.SizeLimit is { } limit ? $",size={(long)limit.ToDecimal()}" : "";
                MountTmpfs(dir, size);
            }
            File.SetUnixFileMode(dir, (UnixFileMode)0x1FF); // 0777
            if (fsGroup is { } g) Own(dir, g, readOnly: false);
            return (dir, false);
        }
        if (volume.HostPath is { } hostPath)
        {
            if (hostPath.Type is "DirectoryOrCreate") System.IO.Directory.CreateDirectory(hostPath.Path);
            return (hostPath.Path, false);
        }

        var files = new List<(string Path, byte[] Data, int Mode)>();
        string plugin;
        var memory = false;
        if (volume.Secret is { } secret)
        {
            plugin = "kubernetes.io~secret";
            memory = true;
            var s = await SecretAsync(secret.SecretName, ct);
            if (s is null && secret.Optional != true) throw new VolumeException(volume.Name, $"secret \"{secret.SecretName}\" not found");
            AddKeys(files, volume.Name, s?.Data ?? new Dictionary<string, byte[]>(), secret.Items, secret.DefaultMode ?? 420, secret.Optional == true, $"secret {secret.SecretName}");
        }
        else if (volume.ConfigMap is { } configMap)
        {
            plugin = "kubernetes.io~configmap";
            var c = await ConfigMapAsync(configMap.Name, ct);
            if (c is null && configMap.Optional != true) throw new VolumeException(volume.Name, $"configmap \"{configMap.Name}\" not found");
            AddKeys(files, volume.Name, ConfigMapData(c), configMap.Items, configMap.DefaultMode ?? 420, configMap.Optional == true, $"configmap {configMap.Name}");
        }
        else if (volume.DownwardAPI is { } downward)
        {
            plugin = "kubernetes.io~downward-api";
            AddDownward(files, downward.Items, downward.DefaultMode ?? 420, podIp, hostIp);
        }
        else if (volume.Projected is { } projected)
        {
            plugin = "kubernetes.io~projected";
            memory = true;
            var mode = projected.DefaultMode ?? 420;
            foreach (var source in projected.Sources ?? [])
            {
                if (source.ServiceAccountToken is { } token)
                {
                    files.Add((token.Path, Encoding.UTF8.GetBytes(await TokenAsync(token, ct)), mode));
                }
                else if (source.ConfigMap is { } cm)
                {
                    var c = await ConfigMapAsync(cm.Name, ct);
                    if (c is null && cm.Optional != true) throw new VolumeException(volume.Name, $"configmap \"{cm.Name}\" not found");
                    AddKeys(files, volume.Name, ConfigMapData(c), cm.Items, mode, cm.Optional == true, $"configmap {cm.Name}");
                }
                else if (source.Secret is { } sec)
                {
                    var s = await SecretAsync(sec.Name, ct);
                    if (s is null && sec.Optional != true) throw new VolumeException(volume.Name, $"secret \"{sec.Name}\" not found");
                    AddKeys(files, volume.Name, s?.Data ?? new Dictionary<string, byte[]>(), sec.Items, mode, sec.Optional == true, $"secret {sec.Name}");
                }
                else if (source.DownwardAPI is { } da)
                {
                    AddDownward(files, da.Items, mode, podIp, hostIp);
                }
            }
        }
        else
        {
            var kind = volume.GetType().GetProperties().FirstOrDefault(p => p.Name != "Name" && p.GetValue(volume) is not null)?.Name ?? "unknown";
            throw new VolumeException(volume.Name, $"volume type {kind} is not supported by this node (emptyDir, secret, configMap, downwardAPI, projected, hostPath)");
        }

        var target = VolumeDir(plugin, volume.Name);
        if (memory) MountTmpfs(target, "");
        WriteAtomically(target, files, fsGroup);
        return (target, true);
    }

    private string VolumeDir(string plugin, string name)
    {
        var dir = Path.Combine(Directory, "volumes", plugin, name);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    private static void MountTmpfs(string dir, string options)
    {
        if (Native.MountsUnder(dir).Contains(dir)) return;
        Native.Mount("tmpfs", dir, "tmpfs", Native.MsNoSuid | Native.MsNoDev, "mode=0755" + options);
    }

    /// <summary>
    /// A Secret the Pod uses, read with the node's credential (the Node authorizer lets a node read only
    /// the Secrets of its Pods; the kubelet's secret manager reads them one by one too).
    /// </summary>
    private async Task<V1Secret?> SecretAsync(string name, CancellationToken ct)
    {
        try
        {
            return await kubelet.NodeClient.CoreV1.ReadNamespacedSecretAsync(name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A ConfigMap the Pod uses, read with the node's credential.</summary>
    private async Task<V1ConfigMap?> ConfigMapAsync(string name, CancellationToken ct)
    {
        try
        {
            return await kubelet.NodeClient.CoreV1.ReadNamespacedConfigMapAsync(name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static Dictionary<string, byte[]> ConfigMapData(V1ConfigMap? c)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (k, v) in c?.Data ?? new Dictionary<string, string>()) data[k] = Encoding.UTF8.GetBytes(v);
        foreach (var (k, v) in c?.BinaryData ?? new Dictionary<string, byte[]>()) data[k] = v;
        return data;
    }

    /// <summary>Every key (or the listed items) as files; a listed key that is missing fails unless optional.</summary>
    private static void AddKeys(List<(string, byte[], int)> files, string volume, IDictionary<string, byte[]> data, IList<V1KeyToPath>? items, int mode, bool optional, string what)
    {
        if (items is null || items.Count == 0)
        {
            foreach (var (k, v) in data) files.Add((k, v, mode));
            return;
        }
        foreach (var item in items)
        {
            if (!data.TryGetValue(item.Key, out var v))
            {
                if (optional) continue;
                throw new VolumeException(volume, $"configured to use key {item.Key} of {what}, but that key is missing");
            }
            files.Add((item.Path, v, item.Mode ?? mode));
        }
    }

    private void AddDownward(List<(string, byte[], int)> files, IList<V1DownwardAPIVolumeFile>? items, int mode, string podIp, string hostIp)
    {
        foreach (var item in items ?? [])
        {
            string value;
            if (item.FieldRef is { } f)
            {
                // pkg/fieldpath/fieldpath.go, FormatMap: whole label and annotation maps as sorted key="value" lines.
                value = f.FieldPath switch
                {
                    "metadata.labels" => FormatMap(pod.Metadata.Labels),
                    "metadata.annotations" => FormatMap(pod.Metadata.Annotations),
                    _ => ContainerEnvironment.FieldValue(pod, f.FieldPath, podIp, hostIp),
                };
            }
            else if (item.ResourceFieldRef is { } r)
            {
                var container = pod.Spec.Containers.FirstOrDefault(c => c.Name == r.ContainerName) ?? pod.Spec.Containers[0];
                value = ContainerEnvironment.ResourceValue(pod, container, r);
            }
            else
            {
                continue;
            }
            files.Add((item.Path, Encoding.UTF8.GetBytes(value), item.Mode ?? mode));
        }
    }

    private static string FormatMap(IDictionary<string, string>? map) =>
        string.Join('\n', (map ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"{p.Key}=\"{p.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\""));

    /// <summary>A ServiceAccount token for this Pod from the TokenRequest API, asked for with the node's credential (NodeRestriction: bound to this Pod, with its UID).</summary>
    private async Task<string> TokenAsync(V1ServiceAccountTokenProjection projection, CancellationToken ct)
    {
        var request = new Authenticationv1TokenRequest
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenRequest",
            Spec = new V1TokenRequestSpec
            {
                Audiences = projection.Audience is { Length: > 0 } a ? [a] : [],
                ExpirationSeconds = projection.ExpirationSeconds ?? 3607,
                BoundObjectRef = new V1BoundObjectReference { ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name, Uid = pod.Metadata.Uid },
            },
        };
        var account = pod.Spec.ServiceAccountName is { Length: > 0 } n ? n : "default";
        var response = await kubelet.NodeClient.CoreV1.CreateNamespacedServiceAccountTokenAsync(request, account, pod.Metadata.NamespaceProperty, cancellationToken: ct);
        return response.Status?.Token ?? throw new InvalidOperationException($"the TokenRequest for serviceaccount {pod.Metadata.NamespaceProperty}/{account} returned no token");
    }

    /// <summary>
    /// atomic_writer.go's layout: the payload in <c>..&lt;timestamp&gt;</c>, <c>..data</c> pointing at it, and each
    /// top-level name a symlink through <c>..data</c>, so a reader never sees half an update.
    /// </summary>
    private static void WriteAtomically(string target, List<(string Path, byte[] Data, int Mode)> files, long? fsGroup)
    {
        var stamp = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss.fffffff", CultureInfo.InvariantCulture);
        var payload = Path.Combine(target, stamp);
        System.IO.Directory.CreateDirectory(payload);
        File.SetUnixFileMode(payload, (UnixFileMode)0x1ED); // 0755
        foreach (var (relative, data, mode) in files)
        {
            var file = Path.Combine(payload, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, data);
            File.SetUnixFileMode(file, (UnixFileMode)(mode & 0xFFF));
            if (fsGroup is { } g) Own(file, g, readOnly: true);
        }
        File.CreateSymbolicLink(Path.Combine(target, "..data"), stamp);
        foreach (var top in files.Select(f => f.Path.Split('/')[0]).Distinct(StringComparer.Ordinal))
        {
            File.CreateSymbolicLink(Path.Combine(target, top), Path.Combine("..data", top));
        }
        if (fsGroup is { } group) Own(target, group, readOnly: true);
    }

    /// <summary>SetVolumeOwnership for one path: group fsGroup, group read (and write), setgid on directories.</summary>
    private static void Own(string path, long fsGroup, bool readOnly)
    {
        Native.Chown(path, -1, fsGroup);
        var mode = File.GetUnixFileMode(path);
        mode |= readOnly ? UnixFileMode.UserRead | UnixFileMode.GroupRead : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        if (System.IO.Directory.Exists(path)) mode |= UnixFileMode.SetGroup | UnixFileMode.UserExecute | UnixFileMode.GroupExecute;
        File.SetUnixFileMode(path, mode);
    }
}
