using System.Globalization;
using System.Numerics;
using System.Text;
using UserApiService.Errors;

namespace UserApiService.Endpoints;

/// <summary>
/// Parses the <c>{user_id}</c> path segment the way FastAPI (pydantic v2, lax mode) parses an
/// <c>int</c> from a string, so that the same inputs are accepted and refused:
/// surrounding whitespace is ignored; one optional <c>+</c> or <c>-</c>; ASCII digits, with single
/// underscores allowed between digits (<c>1_000</c>); leading zeros allowed; an optional fraction made
/// only of zeros (<c>5.0</c>, <c>5.000</c>). Python integers have no size limit, so any length up to
/// pydantic's 4300 characters is an integer (a user id that no row can have, answered 404), never a
/// validation error.
/// </summary>
public static class UserIdParser
{
    /// <summary>Longest input pydantic parses as an integer (CPython's int/str conversion limit).</summary>
    public const int MaxLength = 4300;

    /// <summary>Longest run of plain digits that always fits in a <see langword="long"/>: 18.</summary>
    private const int MaxPlainDigits = 18;

    /// <summary>Parses <paramref name="input"/>.</summary>
    /// <param name="input">The path segment, URL-decoded.</param>
    /// <param name="value">The integer when the input is one; 0 otherwise. Unbounded.</param>
    /// <param name="error">
    /// <see langword="null"/> when the input is an integer; otherwise the validation error FastAPI
    /// reports for it (<c>int_parsing</c>, or <c>int_parsing_size</c> beyond <see cref="MaxLength"/>).
    /// </param>
    /// <returns>Whether <paramref name="input"/> is an integer.</returns>
    public static bool TryParse(string input, out BigInteger value, out ValidationError? error)
    {
        ArgumentNullException.ThrowIfNull(input);
        value = BigInteger.Zero;
        error = null;

        // What clients send nearly always: a plain decimal that fits in 64 bits. Read it in place,
        // without the copy and the arbitrary-precision parse the general path needs.
        if (input.Length is > 0 and <= MaxPlainDigits && !input.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            value = long.Parse(input, NumberStyles.None, CultureInfo.InvariantCulture);
            return true;
        }

        var text = input.Trim();
        if (text.Length > MaxLength)
        {
            error = Error(ValidationError.IntParsingSizeType, ValidationError.IntParsingSizeMessage, input);
            return false;
        }

        var digits = Clean(text);
        if (digits is null)
        {
            error = Error(ValidationError.IntParsingType, ValidationError.IntParsingMessage, input);
            return false;
        }

        value = BigInteger.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>
    /// Returns <paramref name="text"/> as an optional <c>-</c> followed by ASCII digits only, or
    /// <see langword="null"/> when it is not an integer.
    /// </summary>
    private static string? Clean(string text)
    {
        var span = text.AsSpan();
        var negative = false;
        if (span.Length > 0 && (span[0] == '+' || span[0] == '-'))
        {
            negative = span[0] == '-';
            span = span[1..];
        }

        // Optional fraction of zeros only: "12.00" is 12; "12." and "12.5" are not integers.
        var dot = span.IndexOf('.');
        if (dot >= 0)
        {
            var fraction = span[(dot + 1)..];
            if (fraction.IsEmpty || fraction.ContainsAnyExcept('0'))
            {
                return null;
            }

            span = span[..dot];
        }

        if (span.IsEmpty || !char.IsAsciiDigit(span[0]) || !char.IsAsciiDigit(span[^1]))
        {
            return null;
        }

        var builder = new StringBuilder(span.Length + 1);
        if (negative)
        {
            builder.Append('-');
        }

        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (char.IsAsciiDigit(c))
            {
                builder.Append(c);
            }
            else if (c == '_' && char.IsAsciiDigit(span[i - 1]) && char.IsAsciiDigit(span[i + 1]))
            {
                // Single underscore between two digits (first and last characters are digits).
            }
            else
            {
                return null;
            }
        }

        return builder.ToString();
    }

    private static ValidationError Error(string type, string message, string input) =>
        new(type, ["path", "user_id"], message, input);
}
