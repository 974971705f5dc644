using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// A failed API call as the fake answers it: an HTTP status code plus a Kubernetes <c>Status</c>
/// body. Thrown inside the request pipeline and by the <see cref="ResourceStore"/> test accessors.
/// </summary>
public sealed class KubeApiException : Exception
{
    /// <summary>Creates a failure with the given code, reason, message and optional details.</summary>
    public KubeApiException(int code, string reason, string message, JsonObject? details = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Details = details;
    }

    /// <summary>HTTP status code, also the <c>code</c> field of the Status.</summary>
    public int Code { get; }

    /// <summary>Kubernetes <c>StatusReason</c>, e.g. <c>NotFound</c>.</summary>
    public string Reason { get; }

    /// <summary>The Status <c>details</c> object, or null.</summary>
    public JsonObject? Details { get; }

    /// <summary>Renders the Kubernetes <c>Status</c> object for this failure.</summary>
    public JsonObject ToStatus() => StatusResponses.Failure(Code, Reason, Message, (JsonObject?)Details?.DeepClone());
}
