namespace UserApiService.Hosting;

/// <summary>
/// Answers <c>HEAD</c> on every <c>GET</c> route (the API, <c>/docs</c>, <c>/openapi.json</c>,
/// <c>/metrics</c>) as the <c>GET</c> would, with the same status and headers and no body, as FastAPI
/// (Starlette) does. Without it, routing answers 405 because the endpoints are mapped for <c>GET</c>
/// only.
/// </summary>
/// <remarks>
/// The request runs as a <c>GET</c> (so a <c>HEAD /users</c> runs the query, as Starlette's does).
/// Kestrel keeps the method it parsed for framing: it discards the body the handler writes for a
/// <c>HEAD</c> request and sends neither <c>Transfer-Encoding</c> nor <c>Content-Length</c>, which
/// RFC 9110 section 9.3.2 allows for headers only known while the content is generated. The
/// <c>Allow</c> header of a 405 and the OpenAPI document still say <c>GET</c>.
/// </remarks>
internal static class HeadRequests
{
    /// <summary>Adds the middleware. Call before routing and before any middleware that matches on the method.</summary>
    /// <param name="app">The application being configured.</param>
    /// <returns><paramref name="app"/>, for chaining.</returns>
    public static IApplicationBuilder UseHeadAsGet(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            if (HttpMethods.IsHead(context.Request.Method))
            {
                context.Request.Method = HttpMethods.Get;
            }

            return next(context);
        });
}
