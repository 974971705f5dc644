using System.Text.Json.Serialization;

namespace UserApiService.Endpoints;

/// <summary>Body of a successful <c>GET /ready</c>: <c>{"status":"ready"}</c>.</summary>
/// <param name="Status">Always <c>ready</c>.</param>
public sealed record ReadyResponse([property: JsonPropertyName("status")] string Status);
