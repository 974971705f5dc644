using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// The API server answered a request with a non-2xx HTTP status (or a watch stream carried an
/// ERROR event). <see cref="Status"/> is the <c>metav1.Status</c> body when the server sent one;
/// a body that is not a Status (a proxy's HTML page) gives a null <see cref="Status"/> and its first
/// characters in <see cref="ResponseBody"/> and in the message. Subtypes name the cases callers
/// act on; create instances with <see cref="KubernetesErrors.FromStatus"/>.
/// </summary>
public class KubernetesApiException : Exception
{
    /// <summary>Creates an exception for an HTTP error answer.</summary>
    /// <param name="message">Full description, normally "<c>METHOD url: code Reason: server message</c>".</param>
    /// <param name="statusCode">HTTP status code (for watch ERROR events, the Status' <c>code</c>).</param>
    /// <param name="status">The Status body, if the answer carried one.</param>
    /// <param name="innerException">Underlying exception, if any.</param>
    public KubernetesApiException(string message, int statusCode, V1Status? status, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Status = status;
        Reason = string.IsNullOrEmpty(status?.Reason) ? KubernetesErrors.ReasonForCode(statusCode) : status.Reason;
    }

    /// <summary>HTTP status code, for example 404.</summary>
    public int StatusCode { get; }

    /// <summary>The server's Status body; null when the body was missing or not a Status.</summary>
    public V1Status? Status { get; }

    /// <summary>
    /// CamelCase reason (<c>metav1.StatusReason</c>): the Status' <c>reason</c>, or derived from the
    /// code when the body had none (<c>NotFound</c>, <c>Conflict</c>, <c>InternalError</c>...).
    /// </summary>
    public string Reason { get; }

    /// <summary>The server's own human-readable message (Status <c>message</c>), if any.</summary>
    public string? ServerMessage => Status?.Message;

    /// <summary>HTTP method of the failed request (<c>GET</c>, <c>PATCH</c>...); null for watch ERROR events.</summary>
    public string? Method { get; internal set; }

    /// <summary>URL of the failed request.</summary>
    public Uri? RequestUri { get; internal set; }

    /// <summary>Delay the server asked for in its <c>Retry-After</c> header (RFC 9110 section 10.2.3), if any.</summary>
    public TimeSpan? RetryAfter { get; internal set; }

    /// <summary>The start of a body that was not a Status (at most 512 characters), for diagnosis.</summary>
    public string? ResponseBody { get; internal set; }

    /// <summary>
    /// True when repeating the same request later can succeed without changing it: 429
    /// TooManyRequests, 500 InternalError, 502, 503 ServiceUnavailable, 504 Timeout, and the reasons
    /// <c>ServerTimeout</c>, <c>Timeout</c> and <c>TooManyRequests</c>. Honour <see cref="RetryAfter"/> when set.
    /// </summary>
    public virtual bool IsTransient =>
        StatusCode is 429 or 500 or 502 or 503 or 504
        || Reason is "ServerTimeout" or "Timeout" or "TooManyRequests";
}

/// <summary>404 NotFound: the object (or the namespace, or the resource type) does not exist.</summary>
/// <param name="message">Full description.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesNotFoundException(string message, V1Status? status)
    : KubernetesApiException(message, 404, status);

/// <summary>
/// 409: a write lost an optimistic-concurrency race (reason <c>Conflict</c>: the
/// <c>resourceVersion</c> sent is stale; re-read and retry), or, as the subtype
/// <see cref="KubernetesAlreadyExistsException"/>, a create found the name taken.
/// </summary>
public class KubernetesConflictException : KubernetesApiException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full description.</param>
    /// <param name="status">The Status body, if any.</param>
    public KubernetesConflictException(string message, V1Status? status)
        : base(message, 409, status)
    {
    }

    /// <summary>True when the reason is <c>AlreadyExists</c> (a create of an existing name), not a version conflict.</summary>
    public bool IsAlreadyExists => Reason == "AlreadyExists";
}

/// <summary>409 AlreadyExists: a create (<c>POST</c>) named an object that exists.</summary>
/// <param name="message">Full description.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesAlreadyExistsException(string message, V1Status? status)
    : KubernetesConflictException(message, status);

/// <summary>
/// 410 Gone / reason <c>Expired</c>: the resource version a watch resumed from (or a list's
/// <c>continue</c> token) is older than the server keeps. Relist and watch from the new list's version.
/// </summary>
/// <param name="message">Full description.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesGoneException(string message, V1Status? status)
    : KubernetesApiException(message, 410, status);

/// <summary>403 Forbidden: the credentials are valid but RBAC denies the verb on the resource (or a namespace is terminating).</summary>
/// <param name="message">Full description.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesForbiddenException(string message, V1Status? status)
    : KubernetesApiException(message, 403, status);

/// <summary>401 Unauthorized: no, expired or invalid credentials.</summary>
/// <param name="message">Full description.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesUnauthorizedException(string message, V1Status? status)
    : KubernetesApiException(message, 401, status);

/// <summary>422 Invalid: the object failed validation; <see cref="Causes"/> names each bad field.</summary>
/// <param name="message">Full description, including the causes.</param>
/// <param name="status">The Status body, if any.</param>
public sealed class KubernetesInvalidException(string message, V1Status? status)
    : KubernetesApiException(message, 422, status)
{
    /// <summary>One entry per invalid field (<c>field</c>, <c>reason</c> such as <c>FieldValueInvalid</c>, <c>message</c>); empty when the server gave none.</summary>
    public IReadOnlyList<V1StatusCause> Causes { get; } = status?.Details?.Causes?.ToList() ?? [];
}
