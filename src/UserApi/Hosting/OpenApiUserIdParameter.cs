using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace UserApiService.Hosting;

/// <summary>
/// Documents the <c>user_id</c> path parameter as an integer, as FastAPI does. The handler takes it
/// as a string so that it can answer FastAPI's own 422 for non-integers and 404 for integers of any
/// size; the document should still say what clients are meant to send.
/// </summary>
internal static class OpenApiUserIdParameter
{
    /// <summary>Operation transformer: sets the schema of a path parameter named <c>user_id</c> to <c>integer</c>.</summary>
    public static Task TransformAsync(
        OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in operation.Parameters ?? [])
        {
            if (parameter is OpenApiParameter { Name: "user_id", In: ParameterLocation.Path } pathParameter)
            {
                pathParameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Title = "User Id" };
            }
        }

        return Task.CompletedTask;
    }
}
