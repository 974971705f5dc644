using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;
using UserApiService.Data;
using UserApiService.Errors;

namespace UserApiService.Endpoints;

/// <summary>
/// The HTTP API, the same as the original FastAPI service (DESIGN.md section 4). All bodies are JSON
/// (UTF-8, no <c>\u</c> escapes for non-ASCII text):
/// <list type="table">
/// <listheader><term>request</term><description>response</description></listheader>
/// <item><term><c>GET /status</c></term><description>200 <c>1</c>; never touches the database (liveness).</description></item>
/// <item><term><c>GET /users</c></term><description>200 <c>[{"user_id","username","email"}, ...]</c> ordered by
/// <c>user_id</c>, streamed row by row; 503 <c>{"detail":"Too many concurrent /users requests"}</c> when every
/// stream slot stays taken (<see cref="DatabaseOptions.MaxStreams"/>); a client slower than
/// <see cref="DatabaseOptions.StreamMinRate"/> has its connection closed mid-response.</description></item>
/// <item><term><c>GET /users/{user_id}</c></term><description>200 one user; 404 <c>{"detail":"Unknown User ID"}</c>
/// for any integer no row has; 422 FastAPI validation error for anything else.</description></item>
/// <item><term><c>GET /ready</c></term><description>200 <c>{"status":"ready"}</c> when the database answers
/// <c>SELECT 1</c> within <see cref="DatabaseOptions.ReadyTimeoutMilliseconds"/>, over a connection of its own
/// (<see cref="ReadinessCheck"/>), 503 otherwise (readiness).</description></item>
/// </list>
/// Database failures answer 503 <c>{"detail":"Database unavailable"}</c> (see <see cref="ApiErrorResponses"/>).
/// </summary>
public static class UserEndpoints
{
    /// <summary>Body of a successful <c>GET /ready</c>.</summary>
    public static readonly ReadyResponse Ready = new("ready");

    /// <summary>Maps <c>/status</c>, <c>/users</c>, <c>/users/{user_id}</c> and <c>/ready</c>.</summary>
    /// <param name="endpoints">The application's route builder.</param>
    /// <returns><paramref name="endpoints"/>, for chaining.</returns>
    public static IEndpointRouteBuilder MapUserApi(this IEndpointRouteBuilder endpoints)
    {
        // The handlers' XML <summary> comments below become the operation summaries in /docs, as
        // FastAPI derives "Get Users" from the function name; descriptions come from WithDescription.
        var api = endpoints.MapGroup(string.Empty).WithTags("users");

        api.MapGet("/status", GetStatus)
            .WithName("get_status")
            .WithDescription("Liveness probe. Always `1`; never touches the database.");

        api.MapGet("/users", GetUsersAsync)
            .WithName("get_users")
            .WithDescription("All users as `[{\"user_id\", \"username\", \"email\"}]`, ordered by `user_id`, streamed. "
                + "503 `{\"detail\": \"Database unavailable\"}` when the database cannot answer, "
                + "503 `{\"detail\": \"Too many concurrent /users requests\"}` when too many are streaming already.")
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/users/{user_id}", GetUserAsync)
            .WithName("get_user")
            .WithDescription("One user. 404 `{\"detail\": \"Unknown User ID\"}` for any integer no user has; "
                + "422 when `user_id` is not an integer; 503 when the database cannot answer.")
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/ready", GetReadyAsync)
            .WithName("get_ready")
            .WithDescription("Readiness probe. 200 `{\"status\": \"ready\"}` when the database answers `SELECT 1`, "
                + "503 `{\"detail\": \"Database unavailable\"}` otherwise.")
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable);

        return endpoints;
    }

    /// <summary>Get Status</summary>
    internal static Ok<int> GetStatus() => TypedResults.Ok(1);

    /// <summary>Get Users</summary>
    internal static async Task<Ok<IAsyncEnumerable<User>>> GetUsersAsync(
        UserRepository repository, IOptions<DatabaseOptions> options, HttpContext context)
    {
        // Open the query first, so that a database outage (or every stream slot taken) is a clean 503
        // before the response starts. Then stream: System.Text.Json writes the IAsyncEnumerable element
        // by element and flushes whenever its buffer (~16 KB) fills, so neither side ever holds the
        // whole table.
        var users = await repository.OpenAllAsync(context.RequestAborted).ConfigureAwait(false);
        // Released when the enumeration ends; this also covers a response that never enumerates it.
        context.Response.RegisterForDisposeAsync(users);
        RequireMinimumRate(context, options.Value.StreamMinRate);
        return TypedResults.Ok<IAsyncEnumerable<User>>(users);
    }

    /// <summary>
    /// Makes Kestrel close the connection of a client that takes this response slower than
    /// <paramref name="bytesPerSecond"/> (after <see cref="DatabaseOptions.StreamMinRateGracePeriod"/>):
    /// the response holds a pool connection until its client has taken the last row. HTTP/1.x only;
    /// Kestrel refuses a per-request rate on HTTP/2 and HTTP/3 streams, whose connection-wide limit applies.
    /// </summary>
    private static void RequireMinimumRate(HttpContext context, int bytesPerSecond)
    {
        if (HttpProtocol.IsHttp2(context.Request.Protocol) || HttpProtocol.IsHttp3(context.Request.Protocol))
        {
            return;
        }

        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = new MinDataRate(bytesPerSecond, DatabaseOptions.StreamMinRateGracePeriod);
        }
    }

    /// <summary>Get User</summary>
    internal static async Task<Results<Ok<User>, NotFound<ErrorResponse>, UnprocessableEntity<ValidationErrorResponse>>> GetUserAsync(
        [FromRoute(Name = "user_id")] string userId, UserRepository repository, CancellationToken cancellationToken)
    {
        if (!UserIdParser.TryParse(userId, out var id, out var error))
        {
            return TypedResults.UnprocessableEntity(new ValidationErrorResponse([error!]));
        }

        // An id beyond 64 bits cannot be in an INT or BIGINT column: unknown without asking.
        if (id < long.MinValue || id > long.MaxValue)
        {
            return TypedResults.NotFound(ErrorResponse.UnknownUserId);
        }

        var user = await repository.FindAsync((long)id, cancellationToken).ConfigureAwait(false);
        return user is null
            ? TypedResults.NotFound(ErrorResponse.UnknownUserId)
            : TypedResults.Ok(user);
    }

    /// <summary>Get Ready</summary>
    internal static async Task<Ok<ReadyResponse>> GetReadyAsync(
        ReadinessCheck readiness, CancellationToken cancellationToken)
    {
        await readiness.CheckAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(Ready);
    }
}
