using k8s;
using k8s.Autorest;
using k8s.Models;

namespace UserApiOperator.Controllers;

/// <summary>Readable messages of KubernetesClient's errors.</summary>
public static class ApiErrors
{
    /// <summary>
    /// The API server's own message (the <c>message</c> of the <see cref="V1Status"/> in the response
    /// body) for an <see cref="HttpOperationException"/>, which KubernetesClient raises for every non-2xx
    /// answer with the raw body in <c>Response.Content</c>; the exception's message otherwise.
    /// </summary>
    public static string Message(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error is HttpOperationException { Response.Content: { Length: > 0 } body })
        {
            try
            {
                if (KubernetesJson.Deserialize<V1Status>(body) is { Message: { Length: > 0 } message })
                {
                    return message;
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // Not a Status: fall through.
            }
        }

        return error.Message;
    }
}
