using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// Maps API server answers to the typed <see cref="KubernetesApiException"/> family and says which
/// failures are worth retrying. The client itself never retries: callers that can (informers, the
/// work queue) decide, using <see cref="IsTransient"/>.
/// </summary>
public static class KubernetesErrors
{
    /// <summary>Most characters of a non-Status body kept in messages and <see cref="KubernetesApiException.ResponseBody"/>.</summary>
    public const int MaxBodyExcerpt = 512;

    /// <summary>Most bytes of an error body read from the wire; the rest is discarded.</summary>
    internal const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>
    /// True when retrying the operation later (with backoff) can succeed:
    /// <list type="bullet">
    /// <item><see cref="KubernetesApiException"/>: its <see cref="KubernetesApiException.IsTransient"/> (429, 500, 502, 503, 504, server timeouts);</item>
    /// <item><see cref="HttpRequestException"/> (connection refused or reset, DNS, proxy), except TLS
    /// authentication failures (untrusted or mismatched certificate), which need a configuration change;</item>
    /// <item><see cref="IOException"/> (a stream cut mid-body, a watch connection dropped), <see cref="SocketException"/>;</item>
    /// <item><see cref="TimeoutException"/> (the client's own request timeout), and an
    /// <see cref="OperationCanceledException"/> whose inner exception is a <see cref="TimeoutException"/> (HttpClient's timeout);</item>
    /// <item><see cref="AggregateException"/> when any inner exception is transient.</item>
    /// </list>
    /// False for everything else, notably other API errors (400, 401, 403, 404, 409, 410, 422: the
    /// request or state must change first), <see cref="JsonException"/> (an answer of the wrong shape),
    /// <see cref="KubeConfigException"/> and a plain <see cref="OperationCanceledException"/> (the caller cancelled).
    /// </summary>
    /// <param name="exception">The failure.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public static bool IsTransient(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            KubernetesApiException api => api.IsTransient,
            HttpRequestException http => !IsTlsAuthenticationFailure(http),
            IOException or SocketException or TimeoutException => true,
            OperationCanceledException canceled => canceled.InnerException is TimeoutException,
            AggregateException aggregate => aggregate.InnerExceptions.Any(IsTransient),
            _ => false,
        };
    }

    /// <summary>
    /// The CamelCase <c>metav1.StatusReason</c> the API server uses for an HTTP code (as client-go's
    /// <c>reasonForCode</c>): 400 BadRequest, 401 Unauthorized, 403 Forbidden, 404 NotFound,
    /// 405 MethodNotAllowed, 406 NotAcceptable, 409 Conflict, 410 Gone, 413 RequestEntityTooLarge,
    /// 415 UnsupportedMediaType, 422 Invalid, 429 TooManyRequests, 500 InternalError,
    /// 503 ServiceUnavailable, 504 Timeout; <c>Unknown</c> otherwise.
    /// </summary>
    /// <param name="statusCode">HTTP status code.</param>
    public static string ReasonForCode(int statusCode) => statusCode switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };

    /// <summary>
    /// The typed exception for an error answer: 404 <see cref="KubernetesNotFoundException"/>;
    /// 409 <see cref="KubernetesAlreadyExistsException"/> (reason AlreadyExists) or
    /// <see cref="KubernetesConflictException"/>; 410 or reason Expired/Gone <see cref="KubernetesGoneException"/>;
    /// 403 <see cref="KubernetesForbiddenException"/>; 401 <see cref="KubernetesUnauthorizedException"/>;
    /// 422 <see cref="KubernetesInvalidException"/>; any other code a plain <see cref="KubernetesApiException"/>
    /// (check <see cref="KubernetesApiException.IsTransient"/>).
    /// </summary>
    /// <param name="statusCode">HTTP status code, or the Status' <c>code</c> of a watch ERROR event.</param>
    /// <param name="status">The Status body, if there was one.</param>
    /// <param name="method">HTTP method of the request, or null.</param>
    /// <param name="requestUri">URL of the request, or null.</param>
    /// <param name="retryAfter">The <c>Retry-After</c> delay, if the server sent one.</param>
    /// <param name="responseBody">The raw body when it was not a Status; truncated to <see cref="MaxBodyExcerpt"/> characters.</param>
    public static KubernetesApiException FromStatus(
        int statusCode,
        V1Status? status,
        string? method = null,
        Uri? requestUri = null,
        TimeSpan? retryAfter = null,
        string? responseBody = null)
    {
        var excerpt = status is null ? Excerpt(responseBody) : null;
        var message = Describe(statusCode, status, method, requestUri, excerpt);
        var reason = status?.Reason;
        KubernetesApiException exception = statusCode switch
        {
            410 => new KubernetesGoneException(message, status),
            _ when reason is "Expired" or "Gone" => new KubernetesGoneException(message, status),
            404 => new KubernetesNotFoundException(message, status),
            409 when reason == "AlreadyExists" => new KubernetesAlreadyExistsException(message, status),
            409 => new KubernetesConflictException(message, status),
            403 => new KubernetesForbiddenException(message, status),
            401 => new KubernetesUnauthorizedException(message, status),
            422 => new KubernetesInvalidException(message, status),
            _ => new KubernetesApiException(message, statusCode, status),
        };
        exception.Method = method;
        exception.RequestUri = requestUri;
        exception.RetryAfter = retryAfter;
        exception.ResponseBody = excerpt;
        return exception;
    }

    /// <summary>Reads a failed response's body (at most 64 KiB) and builds the typed exception for it.</summary>
    internal static async Task<KubernetesApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await ReadBoundedAsync(response.Content, MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
        var status = TryParseStatus(body);
        return FromStatus(
            (int)response.StatusCode,
            status,
            response.RequestMessage?.Method.Method,
            response.RequestMessage?.RequestUri,
            RetryAfterOf(response.Headers.RetryAfter, DateTimeOffset.UtcNow),
            status is null ? body : null);
    }

    /// <summary>The delay a <c>Retry-After</c> header asks for (seconds or an HTTP date), never negative.</summary>
    internal static TimeSpan? RetryAfterOf(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>A Status parsed from <paramref name="body"/>, or null when the body is not one.</summary>
    internal static V1Status? TryParseStatus(string? body)
    {
        if (string.IsNullOrWhiteSpace(body) || body.TrimStart()[0] != '{')
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var isStatus = root.ValueKind == JsonValueKind.Object
                && ((root.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "Status")
                    || root.TryGetProperty("reason", out _)
                    || (root.TryGetProperty("code", out _) && root.TryGetProperty("message", out _)));
            return isStatus ? root.Deserialize<V1Status>(KubernetesJson.Options) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<string> ReadBoundedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[maxBytes];
            var total = 0;
            int read;
            while (total < maxBytes && (read = await stream.ReadAsync(buffer.AsMemory(total, maxBytes - total), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
            }

            return Encoding.UTF8.GetString(buffer, 0, total);
        }
    }

    private static string? Excerpt(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        var collapsed = string.Join(' ', body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return collapsed.Length <= MaxBodyExcerpt ? collapsed : collapsed[..MaxBodyExcerpt] + "...";
    }

    private static string Describe(int statusCode, V1Status? status, string? method, Uri? requestUri, string? excerpt)
    {
        var text = new StringBuilder();
        if (method is not null || requestUri is not null)
        {
            text.Append(method ?? "watch").Append(' ').Append(requestUri).Append(": ");
        }

        var reason = string.IsNullOrEmpty(status?.Reason) ? ReasonForCode(statusCode) : status.Reason;
        text.Append(statusCode).Append(' ').Append(reason);
        if (!string.IsNullOrEmpty(status?.Message))
        {
            text.Append(": ").Append(status.Message);
        }
        else if (excerpt is not null)
        {
            text.Append(": response body is not a Kubernetes Status: ").Append(excerpt);
        }

        if (status?.Details?.Causes is { Count: > 0 } causes && status.Message?.Contains(causes[0].Message ?? "\0", StringComparison.Ordinal) != true)
        {
            text.Append(" (").AppendJoin("; ", causes.Select(c => $"{c.Field}: {c.Reason}: {c.Message}")).Append(')');
        }

        return text.ToString();
    }

    private static bool IsTlsAuthenticationFailure(HttpRequestException exception)
    {
        for (Exception? inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }
}
