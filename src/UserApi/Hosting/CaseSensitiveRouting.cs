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
    /// <remarks>
    /// Request segments are the non-empty parts of <paramref name="path"/> between slashes, as routing
    /// matched them; read in place, since this runs for every routed request (an index loop: a
    /// <c>foreach</c> over the list interface would allocate an enumerator).
    /// </remarks>
    internal static bool LiteralsMatch(RoutePattern pattern, string path)
    {
        var rest = path.AsSpan();
        var patternSegments = pattern.PathSegments;
        for (var i = 0; i < patternSegments.Count; i++)
        {
            rest = rest.TrimStart('/');
            if (rest.IsEmpty)
            {
                break;
            }

            var end = rest.IndexOf('/');
            var segment = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];

            var parts = patternSegments[i].Parts;
            if (parts.Count == 1 && parts[0] is RoutePatternLiteralPart literal
                && !segment.SequenceEqual(literal.Content))
            {
                return false;
            }
        }

        return true;
    }
}
