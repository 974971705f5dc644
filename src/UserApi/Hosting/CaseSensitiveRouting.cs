using Microsoft.AspNetCore.Routing.Patterns;

namespace UserApiService.Hosting;

/// <summary>
/// Makes the literal parts of routes case-sensitive, as in FastAPI: <c>GET /Users</c> is 404
/// <c>{"detail":"Not Found"}</c>, not the user list. ASP.NET Core routing matches literals
/// case-insensitively; this middleware, placed after <c>UseRouting</c>, drops a matched endpoint whose
/// literal segments differ in case from the request path, so the request ends as a 404.
/// </summary>
internal static class CaseSensitiveRouting
{
    /// <summary>Adds the middleware. Call right after <c>UseRouting</c>.</summary>
    public static IApplicationBuilder UseCaseSensitiveRouting(this IApplicationBuilder app) =>
        app.Use(static (context, next) =>
        {
            if (context.GetEndpoint() is RouteEndpoint endpoint
                && !LiteralsMatch(endpoint.RoutePattern, context.Request.Path.Value ?? string.Empty))
            {
                context.SetEndpoint(null);
            }

            return next(context);
        });

    /// <summary>Whether every literal-only segment of <paramref name="pattern"/> equals the request segment exactly.</summary>
    internal static bool LiteralsMatch(RoutePattern pattern, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < pattern.PathSegments.Count && i < segments.Length; i++)
        {
            var parts = pattern.PathSegments[i].Parts;
            if (parts.Count == 1 && parts[0] is RoutePatternLiteralPart literal
                && !string.Equals(literal.Content, segments[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
