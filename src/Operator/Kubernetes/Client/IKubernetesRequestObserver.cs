namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// Observes every HTTP request a <see cref="KubernetesClient"/> sends, for metrics such as
/// client-go's <c>rest_client_requests_total{code,method}</c> and
/// <c>rest_client_request_duration_seconds{verb}</c>. Called once per request, on the thread that
/// completed it, after the response headers arrived (a watch is reported when its stream opens) or
/// the request failed. Implementations must be thread-safe and fast; exceptions they throw are ignored.
/// </summary>
public interface IKubernetesRequestObserver
{
    /// <summary>Reports one completed (or failed) request.</summary>
    /// <param name="request">What was sent and how it ended.</param>
    void OnRequestCompleted(KubernetesRequestInfo request);
}

/// <summary>One request as seen by an <see cref="IKubernetesRequestObserver"/>.</summary>
/// <param name="Method">HTTP method: <c>GET</c>, <c>POST</c>, <c>PUT</c>, <c>PATCH</c> or <c>DELETE</c>.</param>
/// <param name="Verb">Kubernetes verb: <c>get</c>, <c>list</c>, <c>watch</c>, <c>create</c>, <c>update</c>, <c>patch</c>, <c>apply</c> or <c>delete</c>.</param>
/// <param name="Resource">Plural resource name, with <c>/status</c> for the status subresource, for example <c>userapis/status</c>; empty for requests the client did not tag.</param>
/// <param name="Namespace">Namespace of the request; null for cluster-scoped and all-namespaces requests.</param>
/// <param name="StatusCode">HTTP status code; null when no response arrived (transport error, timeout, cancellation).</param>
/// <param name="Duration">Time from sending to the response headers (or to the failure).</param>
/// <param name="Exception">The transport failure when <paramref name="StatusCode"/> is null.</param>
public sealed record KubernetesRequestInfo(
    string Method,
    string Verb,
    string Resource,
    string? Namespace,
    int? StatusCode,
    TimeSpan Duration,
    Exception? Exception)
{
    /// <summary>The <c>code</c> label value of client-go's request metrics: the status code as text, or <c>&lt;error&gt;</c> without a response.</summary>
    public string CodeLabel => StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "<error>";
}
