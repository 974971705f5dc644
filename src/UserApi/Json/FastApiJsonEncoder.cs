using System.Text;
using System.Text.Encodings.Web;

namespace UserApiService.Json;

/// <summary>
/// JSON string encoder that escapes only what JSON requires, like Python's
/// <c>json.dumps(ensure_ascii=False)</c> behind FastAPI: <c>"</c>, <c>\</c> and control characters
/// below U+0020. Everything else, emoji and other characters beyond U+FFFF included, is written as
/// raw UTF-8, so <c>"Zoë"</c> stays <c>"Zoë"</c> and <c>"🎉"</c> stays <c>"🎉"</c> (the built-in
/// <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> still writes <c>\uD83C\uDF89</c>).
/// Unpaired surrogates, which UTF-8 cannot carry, become U+FFFD.
/// </summary>
/// <remarks>
/// Safe for <c>application/json</c> responses. Do not use it to embed JSON in HTML: it does not escape
/// <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c> or <c>'</c>.
/// </remarks>
public sealed class FastApiJsonEncoder : JavaScriptEncoder
{
    /// <summary>The shared instance; the encoder is stateless and thread-safe.</summary>
    public static readonly FastApiJsonEncoder Instance = new();

    private FastApiJsonEncoder()
    {
    }

    /// <summary>Longest output for one input character: 6 (<c>\u001F</c>).</summary>
    public override int MaxOutputCharactersPerInputCharacter => 6;

    /// <summary>Whether <paramref name="unicodeScalar"/> must be escaped: only <c>"</c>, <c>\</c> and U+0000..U+001F.</summary>
    /// <param name="unicodeScalar">A Unicode scalar value.</param>
    /// <returns><see langword="true"/> when it is escaped.</returns>
    public override bool WillEncode(int unicodeScalar) => unicodeScalar is < 0x20 or '"' or '\\';

    /// <summary>Index of the first character to escape or of the first unpaired surrogate; -1 when none.</summary>
    /// <param name="text">UTF-16 text.</param>
    /// <param name="textLength">Number of characters at <paramref name="text"/>.</param>
    /// <returns>The index, or -1.</returns>
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = new ReadOnlySpan<char>(text, textLength);
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (c < 0x20 || c == '"' || c == '\\')
            {
                return i;
            }

            if (char.IsHighSurrogate(c) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Index of the first byte to escape or of the first invalid UTF-8 sequence; -1 when none.</summary>
    /// <param name="utf8Text">UTF-8 text.</param>
    /// <returns>The index, or -1.</returns>
    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        var i = 0;
        while (i < utf8Text.Length)
        {
            var b = utf8Text[i];
            if (b < 0x80)
            {
                if (b < 0x20 || b == '"' || b == '\\')
                {
                    return i;
                }

                i++;
                continue;
            }

            if (Rune.DecodeFromUtf8(utf8Text[i..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return i;
            }

            i += consumed;
        }

        return -1;
    }

    /// <summary>
    /// Writes <paramref name="unicodeScalar"/>: escaped (<c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\r</c>,
    /// <c>\t</c>, <c>\b</c>, <c>\f</c>, <c>\u00XX</c>) when <see cref="WillEncode"/> says so, as is otherwise.
    /// </summary>
    /// <param name="unicodeScalar">A Unicode scalar value.</param>
    /// <param name="buffer">Destination.</param>
    /// <param name="bufferLength">Characters available at <paramref name="buffer"/>.</param>
    /// <param name="numberOfCharactersWritten">Characters written.</param>
    /// <returns><see langword="false"/> when the buffer is too small.</returns>
    public override unsafe bool TryEncodeUnicodeScalar(
        int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var destination = new Span<char>(buffer, bufferLength);
        ReadOnlySpan<char> escaped = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\b' => "\\b",
            '\f' => "\\f",
            < 0x20 => $"\\u{unicodeScalar:X4}",
            _ => default,
        };

        if (!escaped.IsEmpty)
        {
            var fits = escaped.TryCopyTo(destination);
            numberOfCharactersWritten = fits ? escaped.Length : 0;
            return fits;
        }

        if (!Rune.TryCreate(unicodeScalar, out var rune))
        {
            rune = Rune.ReplacementChar;
        }

        return rune.TryEncodeToUtf16(destination, out numberOfCharactersWritten);
    }
}
