using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;

namespace LocalCluster.Controllers;

/// <summary>
/// Writes core/v1 Events about objects, for <c>kubectl describe</c> and <c>kubectl get events</c>,
/// as a component's event recorder would (client-go <c>tools/record</c>; the scheduler's
/// events.k8s.io recorder shows the same fields through core/v1): source and reporting component,
/// reason, action, message. A repeat of the same reason and message about the same object within
/// <see cref="RepeatInterval"/> bumps the count and last timestamp of the Event already written
/// instead of writing a new one (the recorder's aggregation, simplified). Writes happen in the
/// background; a failure is logged, never thrown.
/// </summary>
/// <param name="client">The API client.</param>
/// <param name="component">Source and reporting component, e.g. <c>default-scheduler</c>.</param>
/// <param name="log">Receives a line per failed write; null for none.</param>
/// <param name="time">Clock for event timestamps; the system clock when null.</param>
internal sealed class EventWriter(IKubernetes client, string component, Action<string>? log = null, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, (string Name, int Count, DateTimeOffset First, DateTimeOffset Last)> _recent = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _sequence;

    /// <summary>How long a repeated event is folded into the previous one.</summary>
    public TimeSpan RepeatInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Records an event about <paramref name="obj"/>; returns the task of the write (tests may await it).</summary>
    /// <param name="obj">The object involved (its apiVersion and kind must be set).</param>
    /// <param name="type"><c>Normal</c> or <c>Warning</c>.</param>
    /// <param name="reason">Short CamelCase reason, e.g. <c>FailedScheduling</c>.</param>
    /// <param name="action">What the component was doing, e.g. <c>Scheduling</c>; null for none.</param>
    /// <param name="message">Human-readable text.</param>
    public Task Record(IKubernetesObject<V1ObjectMeta> obj, string type, string reason, string? action, string message)
    {
        var now = _time.GetUtcNow();
        var ns = obj.Metadata.NamespaceProperty ?? "default";
        var key = $"{obj.Metadata.Uid}|{type}|{reason}|{message}";
        var previous = _recent.TryGetValue(key, out var p) && now - p.Last < RepeatInterval ? p : default((string, int, DateTimeOffset, DateTimeOffset)?);
        var name = previous?.Item1 ?? $"{obj.Metadata.Name}.{(now.ToUnixTimeMilliseconds() * 1000 + Interlocked.Increment(ref _sequence) % 1000).ToString("x", CultureInfo.InvariantCulture)}";
        var count = (previous?.Item2 ?? 0) + 1;
        var first = previous?.Item3 ?? now;
        _recent[key] = (name, count, first, now);
        var ev = new Corev1Event
        {
            ApiVersion = "v1",
            Kind = "Event",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = obj.ApiVersion,
                Kind = obj.Kind,
                Name = obj.Metadata.Name,
                NamespaceProperty = obj.Metadata.NamespaceProperty,
                Uid = obj.Metadata.Uid,
                ResourceVersion = obj.Metadata.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Action = action,
            Message = message,
            Source = new V1EventSource { Component = component },
            ReportingComponent = component,
            ReportingInstance = component,
            FirstTimestamp = first.UtcDateTime,
            LastTimestamp = now.UtcDateTime,
            Count = count,
        };
        return Task.Run(async () =>
        {
            try
            {
                if (previous is null) await client.CoreV1.CreateNamespacedEventAsync(ev, ns);
                else await client.CoreV1.ReplaceNamespacedEventAsync(ev, name, ns);
            }
            catch (Exception e)
            {
                log?.Invoke($"event {reason} for {ns}/{obj.Metadata.Name}: {e.Message}");
            }
        });
    }
}
