using System.Text.Json.Serialization;

namespace UserApiService.Errors;

/// <summary>
/// FastAPI's 422 body (pydantic v2 error list), e.g.
/// <c>{"detail":[{"type":"int_parsing","loc":["path","user_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}</c>.
/// </summary>
/// <param name="Detail">One entry per invalid input.</param>
public sealed record ValidationErrorResponse(
    [property: JsonPropertyName("detail")] IReadOnlyList<ValidationError> Detail);

/// <summary>One invalid input in a <see cref="ValidationErrorResponse"/>.</summary>
/// <param name="Type">Pydantic error type, e.g. <c>int_parsing</c>.</param>
/// <param name="Loc">Where the input was: <c>["path", "user_id"]</c>.</param>
/// <param name="Msg">Pydantic's message for <paramref name="Type"/>.</param>
/// <param name="Input">The input exactly as received (URL-decoded).</param>
public sealed record ValidationError(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("loc")] IReadOnlyList<string> Loc,
    [property: JsonPropertyName("msg")] string Msg,
    [property: JsonPropertyName("input")] string Input)
{
    /// <summary>Pydantic's type for a string that is not an integer.</summary>
    public const string IntParsingType = "int_parsing";

    /// <summary>Pydantic's message for <see cref="IntParsingType"/>.</summary>
    public const string IntParsingMessage = "Input should be a valid integer, unable to parse string as an integer";

    /// <summary>Pydantic's type for an integer string longer than 4300 characters.</summary>
    public const string IntParsingSizeType = "int_parsing_size";

    /// <summary>Pydantic's message for <see cref="IntParsingSizeType"/>.</summary>
    public const string IntParsingSizeMessage = "Unable to parse input string as an integer, exceeded maximum size";
}
