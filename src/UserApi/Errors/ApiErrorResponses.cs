using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using UserApiService.Data;

namespace UserApiService.Errors;

/// <summary>
/// Gives every error the FastAPI JSON shape <c>{"detail": ...}</c> instead of an empty body, an HTML
/// page or a stack trace:
/// <list type="bullet">
/// <item>empty 4xx/5xx responses (no route: 404 <c>Not Found</c>; route without the method: 405
/// <c>Method Not Allowed</c>, with the <c>Allow</c> header routing sets) get
/// <c>{"detail": "&lt;reason phrase&gt;"}</c>;</item>
/// <item><see cref="DatabaseUnavailableException"/> becomes 503 <c>{"detail":"Database unavailable"}</c>;</item>
/// <item><see cref="TooManyStreamsException"/> becomes 503 <c>{"detail":"Too many concurrent /users requests"}</c>;
/// both with <c>Retry-After: 1</c>;</item>
/// <item>any other exception becomes 500 <c>{"detail":"Internal Server Error"}</c> (logged by the host).</item>
/// </list>
/// </summary>
public static class ApiErrorResponses
{
    /// <summary>
    /// Adds the middleware, outermost first: exception handler, then status-code bodies. Call before
    /// routing middleware and endpoints.
    /// </summary>
    /// <param name="app">The application being configured.</param>
    /// <returns><paramref name="app"/>, for chaining.</returns>
    public static IApplicationBuilder UseApiErrorResponses(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = WriteExceptionAsync,
            // DatabaseUnavailableException is expected while the database is down, TooManyStreamsException
            // under a crowd of /users clients; the repository already logged one line for each, so skip
            // the host's error log with the stack trace.
            SuppressDiagnosticsCallback = context => context.Exception is DatabaseUnavailableException or TooManyStreamsException,
        });
        app.UseStatusCodePages(context => WriteStatusCodeAsync(context.HttpContext));
        return app;
    }

    /// <summary>Writes <c>{"detail": "&lt;reason phrase&gt;"}</c> for an error status without a body.</summary>
    private static Task WriteStatusCodeAsync(HttpContext context)
    {
        var phrase = ReasonPhrases.GetReasonPhrase(context.Response.StatusCode);
        return context.Response.WriteAsJsonAsync(
            new ErrorResponse(string.IsNullOrEmpty(phrase) ? "Error" : phrase),
            context.RequestAborted);
    }

    /// <summary>Writes the 503 or 500 body for the exception the handler caught.</summary>
    private static Task WriteExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (exception is DatabaseUnavailableException or TooManyStreamsException)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            // Tell probes and clients when to try again; the pool recovers on the next request.
            context.Response.Headers.RetryAfter = "1";
            return context.Response.WriteAsJsonAsync(
                exception is TooManyStreamsException ? ErrorResponse.TooManyStreams : ErrorResponse.DatabaseUnavailable,
                context.RequestAborted);
        }

        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        return context.Response.WriteAsJsonAsync(ErrorResponse.InternalServerError, context.RequestAborted);
    }
}
