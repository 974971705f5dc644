using System.Text.Json.Serialization;

namespace UserApiService.Data;

/// <summary>
/// One row of the <c>Users</c> table, as the API returns it:
/// <c>{"user_id": 1, "username": "Alice", "email": "alice@example.com"}</c>.
/// </summary>
/// <param name="UserId">Primary key, column <c>user_id</c> (INT).</param>
/// <param name="Username">Column <c>username</c>; <see langword="null"/> when the column is NULL.</param>
/// <param name="Email">Column <c>email</c>; <see langword="null"/> when the column is NULL.</param>
public sealed record User(
    [property: JsonPropertyName("user_id")] int UserId,
    [property: JsonPropertyName("username")] string? Username,
    [property: JsonPropertyName("email")] string? Email);
