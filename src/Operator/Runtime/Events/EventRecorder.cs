using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Rbac;
using UserApiOperator.Runtime.Reconciliation;

namespace UserApiOperator.Runtime.Events;

/// <summary>Records Kubernetes Events about objects (what <c>kubectl describe</c> shows under Events).</summary>
public interface IEventRecorder
{
    /// <summary>
    /// Records an Event about <paramref name="about"/>. Best effort: a failure is logged, never thrown,
    /// because an Event must not fail a reconcile. An Event identical to one recorded for the same
    /// object within <see cref="EventRecorder.DeduplicationWindow"/> is not sent again.
    /// </summary>
    /// <param name="about">The object the Event is about (the involved object).</param>
    /// <param name="type"><see cref="EventTypes.Normal"/> or <see cref="EventTypes.Warning"/>.</param>
    /// <param name="reason">CamelCase reason, for example <c>Created</c>.</param>
    /// <param name="message">One human-readable sentence.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> about, string type, string reason, string message, CancellationToken cancellationToken);

    /// <summary>Drops what is remembered about <paramref name="about"/> for de-duplication (it was deleted).</summary>
    void Forget(IKubernetesObject<V1ObjectMeta> about);
}

/// <summary>The <c>type</c> values of core/v1 Events.</summary>
public static class EventTypes
{
    /// <summary>Something expected happened.</summary>
    public const string Normal = "Normal";

    /// <summary>Something needs attention.</summary>
    public const string Warning = "Warning";
}

/// <summary>
/// Creates core/v1 Events (<c>POST /api/v1/namespaces/{ns}/events</c> through KubernetesClient's
/// <c>CoreV1.CreateNamespacedEventAsync</c>), with the operator as source and reporting component.
/// De-duplicates as client-go's event correlator does in spirit: a repeat of the same type, reason
/// and message about the same object within <see cref="DeduplicationWindow"/> is dropped instead of
/// written again, so a reconcile retried with backoff does not spam the object's Events.
/// </summary>
/// <param name="client">API access.</param>
/// <param name="component">Source and reporting component, <c>userapi-operator</c>.</param>
/// <param name="instance">Reporting instance (the Pod or host name).</param>
/// <param name="timeProvider">Clock of the Event timestamps and of the de-duplication window.</param>
/// <param name="logger">Where failures go.</param>
[EntityRbac(typeof(Corev1Event), RbacVerb.Create, Reason = "Events about each reconciled object (results, errors) in its namespace; never patched.")]
public sealed partial class EventRecorder(IKubernetes client, string component, string instance, TimeProvider timeProvider, ILogger<EventRecorder> logger) : IEventRecorder
{
    /// <summary>How long an identical Event about the same object is not recorded again: 10 minutes, client-go's aggregation window.</summary>
    public static readonly TimeSpan DeduplicationWindow = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<(string Uid, string Type, string Reason), (string Message, DateTimeOffset At)> _recent = new();

    /// <inheritdoc />
    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> about, string type, string reason, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(about);
        var now = timeProvider.GetUtcNow();
        var key = (about.Metadata.Uid ?? ObjectKey.Of(about), type, reason);
        if (_recent.TryGetValue(key, out var last) && last.Message == message && now - last.At < DeduplicationWindow)
        {
            LogDuplicate(logger, reason, ObjectKey.Of(about));
            return;
        }

        _recent[key] = (message, now);
        var ns = about.Metadata.NamespaceProperty ?? "default";
        var name = $"{about.Metadata.Name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}";
        var recorded = new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = about.ApiVersion,
                Kind = about.Kind,
                Name = about.Metadata.Name,
                NamespaceProperty = about.Metadata.NamespaceProperty,
                Uid = about.Metadata.Uid,
                ResourceVersion = about.Metadata.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = component, Host = instance },
            FirstTimestamp = now.UtcDateTime,
            LastTimestamp = now.UtcDateTime,
            Count = 1,
            ReportingComponent = component,
            ReportingInstance = instance,
            Action = "Reconcile",
        };
        try
        {
            await client.CoreV1.CreateNamespacedEventAsync(recorded, ns, fieldManager: component, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _recent.TryRemove(key, out _);
            throw;
        }
#pragma warning disable CA1031 // Events are best effort.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _recent.TryRemove(key, out _);
            LogFailed(logger, reason, ObjectKey.Of(about), e.Message);
        }
    }

    /// <inheritdoc />
    public void Forget(IKubernetesObject<V1ObjectMeta> about)
    {
        ArgumentNullException.ThrowIfNull(about);
        var uid = about.Metadata.Uid ?? ObjectKey.Of(about);
        foreach (var key in _recent.Keys.Where(k => k.Uid == uid).ToList())
        {
            _recent.TryRemove(key, out _);
        }
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Could not record Event {Reason} for {Key}: {Error}")]
    private static partial void LogFailed(ILogger logger, string reason, string key, string error);

    [LoggerMessage(EventId = 602, Level = LogLevel.Debug, Message = "Event {Reason} for {Key} repeats the last one; not recorded again")]
    private static partial void LogDuplicate(ILogger logger, string reason, string key);
}
