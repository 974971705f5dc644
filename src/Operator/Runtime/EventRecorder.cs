using Microsoft.Extensions.Logging;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Runtime;

/// <summary>Records Kubernetes Events about objects (what <c>kubectl describe</c> shows under Events).</summary>
public interface IEventRecorder
{
    /// <summary>
    /// Records an Event about <paramref name="about"/>. Best effort: a failure is logged, never thrown,
    /// because an Event must not fail a reconcile.
    /// </summary>
    /// <param name="about">The object the Event is about (the involved object).</param>
    /// <param name="type"><see cref="V1Event.TypeNormal"/> or <see cref="V1Event.TypeWarning"/>.</param>
    /// <param name="reason">CamelCase reason, for example <c>Created</c>.</param>
    /// <param name="message">One human-readable sentence.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    Task RecordAsync(IKubernetesObject about, string type, string reason, string message, CancellationToken cancellationToken);
}

/// <summary>Creates core/v1 Events through the API, with the operator as source and reporting component.</summary>
/// <param name="client">API access.</param>
/// <param name="component">Source and reporting component, <c>userapi-operator</c>.</param>
/// <param name="instance">Reporting instance (the Pod or host name).</param>
/// <param name="timeProvider">Clock of the Event timestamps.</param>
/// <param name="logger">Where failures go.</param>
public sealed partial class EventRecorder(IKubernetesClient client, string component, string instance, TimeProvider timeProvider, ILogger<EventRecorder> logger) : IEventRecorder
{
    /// <inheritdoc />
    public async Task RecordAsync(IKubernetesObject about, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var name = $"{about.Metadata.Name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}";
        var recorded = new V1Event
        {
            Metadata = new V1ObjectMeta { Name = name, Namespace = about.Metadata.Namespace ?? "default" },
            InvolvedObject = V1ObjectReference.To(about),
            Type = type,
            Reason = reason,
            Message = message,
            Source = new V1EventSource { Component = component, Host = instance },
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
            ReportingComponent = component,
            ReportingInstance = instance,
            Action = "Reconcile",
        };
        try
        {
            await client.CreateAsync(recorded, component, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Events are best effort.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogFailed(logger, reason, ObjectKey.Of(about), e.Message);
        }
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Could not record Event {Reason} for {Key}: {Error}")]
    private static partial void LogFailed(ILogger logger, string reason, string key, string error);
}
