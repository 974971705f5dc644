using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// core/v1 Events about Pods and Deployments, for <c>kubectl describe</c>. Repeats of one event
/// within a minute are dropped (the real recorder aggregates them into a count instead).
/// </summary>
internal sealed class EventRecorder(IKubernetes client, string component, string? host)
{
    private readonly ConcurrentDictionary<string, DateTime> _recent = new();
    private int _sequence;

    public void Record<T>(T obj, string type, string reason, string message, string? fieldPath = null)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var now = DateTime.UtcNow;
        var key = $"{obj.Metadata.Uid}|{reason}|{message}";
        if (_recent.TryGetValue(key, out var last) && now - last < TimeSpan.FromMinutes(1)) return;
        _recent[key] = now;
        var ns = obj.Metadata.NamespaceProperty ?? "default";
        var ev = new Corev1Event
        {
            // Unique like the recorder's names (name + hex of the time), with a counter for events of one tick.
            Metadata = new V1ObjectMeta { Name = $"{obj.Metadata.Name}.{now.Ticks:x}{Interlocked.Increment(ref _sequence) % 4096:x3}", NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = obj.ApiVersion,
                Kind = obj.Kind,
                Name = obj.Metadata.Name,
                // A cluster-scoped object's Event lives in "default"; its reference keeps no namespace.
                NamespaceProperty = obj.Metadata.NamespaceProperty,
                Uid = obj.Metadata.Uid,
                ResourceVersion = obj.Metadata.ResourceVersion,
                FieldPath = fieldPath,
            },
            Type = type,
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = component, Host = host },
            ReportingComponent = component,
            ReportingInstance = host,
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        _ = Task.Run(async () =>
        {
            try
            {
                await client.CoreV1.CreateNamespacedEventAsync(ev, ns);
            }
            catch (Exception e)
            {
                Log.Write($"event {reason} for {ns}/{obj.Metadata.Name}: {e.Message}");
            }
        });
    }
}
