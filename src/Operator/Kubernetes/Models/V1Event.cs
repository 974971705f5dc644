using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// A core/v1 Event (<c>kubectl describe</c> shows them under "Events"): a report that something
/// happened to <see cref="InvolvedObject"/>. Created with <c>POST /api/v1/namespaces/{ns}/events</c>
/// in the involved object's namespace (the API server rejects a namespace mismatch). Events are
/// kept for about an hour by default (<c>--event-ttl</c> of kube-apiserver).
/// </summary>
[KubernetesEntity(ApiVersion = "v1", Kind = "Event", PluralName = "events")]
public sealed class V1Event : KubernetesObject
{
    /// <summary><see cref="Type"/> of routine events.</summary>
    public const string TypeNormal = "Normal";

    /// <summary><see cref="Type"/> of events that may need attention.</summary>
    public const string TypeWarning = "Warning";

    /// <summary>The object this event is about (required).</summary>
    public V1ObjectReference? InvolvedObject { get; set; }

    /// <summary>Short machine-readable CamelCase reason, for example <c>Created</c> or <c>ReconcileFailed</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>Human-readable description (the API server truncates nothing, but keep it under 1 KiB).</summary>
    public string? Message { get; set; }

    /// <summary><see cref="TypeNormal"/> or <see cref="TypeWarning"/>.</summary>
    public string? Type { get; set; }

    /// <summary>The component that reported the event (legacy field; <c>kubectl describe</c> shows it as "From").</summary>
    public V1EventSource? Source { get; set; }

    /// <summary>When the event was first recorded (RFC 3339, UTC, second precision).</summary>
    public DateTimeOffset? FirstTimestamp { get; set; }

    /// <summary>When the event was most recently recorded (RFC 3339, UTC, second precision).</summary>
    public DateTimeOffset? LastTimestamp { get; set; }

    /// <summary>How many times the event occurred between <see cref="FirstTimestamp"/> and <see cref="LastTimestamp"/>.</summary>
    public int? Count { get; set; }

    /// <summary>Controller that emitted the event, for example <c>userapi-operator</c> (JSON <c>reportingComponent</c>).</summary>
    public string? ReportingComponent { get; set; }

    /// <summary>Instance of the controller, for example the Pod name; at most 128 characters.</summary>
    public string? ReportingInstance { get; set; }

    /// <summary>What action was taken or failed, for example <c>Reconcile</c>; at most 128 characters.</summary>
    public string? Action { get; set; }
}

/// <summary>A reference to an object (core/v1 <c>ObjectReference</c>), as used by <see cref="V1Event.InvolvedObject"/>.</summary>
public sealed class V1ObjectReference
{
    /// <summary>The object's <c>apiVersion</c>.</summary>
    public string? ApiVersion { get; set; }

    /// <summary>The object's kind.</summary>
    public string? Kind { get; set; }

    /// <summary>The object's name.</summary>
    public string? Name { get; set; }

    /// <summary>The object's namespace; must equal the event's namespace.</summary>
    public string? Namespace { get; set; }

    /// <summary>The object's <c>metadata.uid</c>.</summary>
    public string? Uid { get; set; }

    /// <summary>The object's <c>metadata.resourceVersion</c> the event refers to.</summary>
    public string? ResourceVersion { get; set; }

    /// <summary>A field within the object, for example <c>spec.containers{api}</c>; usually unset.</summary>
    public string? FieldPath { get; set; }

    /// <summary>A reference to <paramref name="obj"/> (apiVersion, kind, name, namespace, uid, resourceVersion).</summary>
    /// <param name="obj">The object referred to.</param>
    /// <exception cref="ArgumentNullException"><paramref name="obj"/> is null.</exception>
    public static V1ObjectReference To(IKubernetesObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return new V1ObjectReference
        {
            ApiVersion = obj.ApiVersion,
            Kind = obj.Kind,
            Name = obj.Metadata.Name,
            Namespace = obj.Metadata.Namespace,
            Uid = obj.Metadata.Uid,
            ResourceVersion = obj.Metadata.ResourceVersion,
        };
    }
}

/// <summary>The component that reported an event (core/v1 <c>EventSource</c>).</summary>
public sealed class V1EventSource
{
    /// <summary>Component name, for example <c>userapi-operator</c>.</summary>
    public string? Component { get; set; }

    /// <summary>Node name, for node-local components; usually unset for controllers.</summary>
    public string? Host { get; set; }
}
