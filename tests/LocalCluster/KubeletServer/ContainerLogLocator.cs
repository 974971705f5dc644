using System.Globalization;
using k8s.Models;

namespace LocalCluster.KubeletServer;

/// <summary>
/// Which container instance a log request is for, and where its log is: the kubelet's
/// <c>validateContainerLogStatus</c> (pkg/kubelet/kubelet_pods.go: <c>previous</c> means the last
/// terminated instance; otherwise the running one, else the terminated one, else the last
/// terminated one; a container still waiting has no logs yet, with the kubelet's messages), then
/// the log path the runtime reports for that container, or, when it reports none, the kubelet's own
/// layout: the highest-numbered <c>&lt;n&gt;.log</c> of the container's directory is its latest
/// instance and the one before it the previous instance.
/// </summary>
public static class ContainerLogLocator
{
    /// <summary>The container id of the instance to read (without the <c>runc://</c> prefix).</summary>
    /// <exception cref="ArgumentException">The kubelet's refusal, e.g. <c>previous terminated container "c" in pod "p" not found</c>.</exception>
    public static string ContainerIdFor(V1Pod pod, string containerName, bool previous)
    {
        var podName = pod.Metadata.Name;
        var status = StatusOf(pod, containerName)
            ?? throw new ArgumentException($"container \"{containerName}\" in pod \"{podName}\" is not available");
        var last = status.LastState?.Terminated;
        var state = status.State;
        string? id;
        if (previous)
        {
            if (last is null || string.IsNullOrEmpty(last.ContainerID))
            {
                throw new ArgumentException($"previous terminated container \"{containerName}\" in pod \"{podName}\" not found");
            }
            id = last.ContainerID;
        }
        else if (state?.Running is not null)
        {
            id = status.ContainerID;
        }
        else if (state?.Terminated is { } terminated)
        {
            id = !string.IsNullOrEmpty(terminated.ContainerID) ? terminated.ContainerID
                : !string.IsNullOrEmpty(last?.ContainerID) ? last.ContainerID
                : throw new ArgumentException($"container \"{containerName}\" in pod \"{podName}\" is terminated");
        }
        else if (last is not null)
        {
            id = !string.IsNullOrEmpty(last.ContainerID) ? last.ContainerID
                : throw new ArgumentException($"container \"{containerName}\" in pod \"{podName}\" is terminated");
        }
        else if (state?.Waiting is { } waiting)
        {
            throw new ArgumentException(waiting.Reason switch
            {
                "ErrImagePull" => $"container \"{containerName}\" in pod \"{podName}\" is waiting to start: image can't be pulled",
                "ImagePullBackOff" => $"container \"{containerName}\" in pod \"{podName}\" is waiting to start: trying and failing to pull image",
                var reason => $"container \"{containerName}\" in pod \"{podName}\" is waiting to start: {reason}",
            });
        }
        else
        {
            throw new ArgumentException($"container \"{containerName}\" in pod \"{podName}\" is waiting to start - no logs yet");
        }

        return ParseContainerId(id ?? "");
    }

    /// <summary><c>kubecontainer.ParseContainerID</c>: the id after <c>&lt;type&gt;://</c>.</summary>
    public static string ParseContainerId(string containerId)
    {
        var separator = containerId.IndexOf("://", StringComparison.Ordinal);
        return separator < 0 ? containerId : containerId[(separator + 3)..];
    }

    /// <summary>
    /// The log file of container instance <paramref name="containerId"/> by the kubelet's layout under
    /// <paramref name="podLogsRoot"/>, or null when its directory holds no such instance.
    /// </summary>
    public static string? LogPathByLayout(string podLogsRoot, V1Pod pod, string containerName, string containerId)
    {
        var directory = Path.Combine(podLogsRoot, $"{pod.Metadata.NamespaceProperty}_{pod.Metadata.Name}_{pod.Metadata.Uid}", containerName);
        if (!Directory.Exists(directory)) return null;
        var instances = Directory.EnumerateFiles(directory, "*.log")
            .Select(f => (Path: f, Number: int.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1))
            .Where(f => f.Number >= 0)
            .OrderByDescending(f => f.Number)
            .Select(f => f.Path)
            .ToList();
        if (instances.Count == 0) return null;

        var status = StatusOf(pod, containerName);
        var current = ParseContainerId(status?.ContainerID ?? "");
        var lastTerminated = ParseContainerId(status?.LastState?.Terminated?.ContainerID ?? "");
        if (containerId == current || containerId != lastTerminated) return instances[0];

        // The last terminated instance: the one before the current instance when there is one,
        // the latest file while the container waits to start again.
        var hasCurrentInstance = status?.State?.Running is not null || (status?.State?.Terminated is not null && current.Length > 0 && current != lastTerminated);
        return hasCurrentInstance ? instances.ElementAtOrDefault(1) : instances[0];
    }

    private static V1ContainerStatus? StatusOf(V1Pod pod, string containerName) =>
        (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.EphemeralContainerStatuses ?? [])
            .FirstOrDefault(s => s.Name == containerName);
}
