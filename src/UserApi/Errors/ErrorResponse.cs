using System.Text.Json.Serialization;

namespace UserApiService.Errors;

/// <summary>
/// FastAPI's error body for every error except validation: <c>{"detail": "Unknown User ID"}</c>.
/// </summary>
/// <param name="Detail">Human-readable reason, e.g. <c>Not Found</c>, <c>Method Not Allowed</c>,
/// <c>Unknown User ID</c>, <c>Database unavailable</c>, <c>Too many concurrent /users requests</c>.</param>
public sealed record ErrorResponse([property: JsonPropertyName("detail")] string Detail)
{
    /// <summary>Body of 404 for a user id that no row has.</summary>
    public static readonly ErrorResponse UnknownUserId = new("Unknown User ID");

    /// <summary>Body of 503 when the database cannot answer.</summary>
    public static readonly ErrorResponse DatabaseUnavailable = new("Database unavailable");

    /// <summary>Body of 503 when every <c>GET /users</c> stream slot stayed taken (see <c>MYSQL_MAX_STREAMS</c>).</summary>
    public static readonly ErrorResponse TooManyStreams = new("Too many concurrent /users requests");

    /// <summary>Body of 500 for any unexpected failure (details go to the log only).</summary>
    public static readonly ErrorResponse InternalServerError = new("Internal Server Error");
}
