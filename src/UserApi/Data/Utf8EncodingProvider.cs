using System.Text;

namespace UserApiService.Data;

/// <summary>
/// Answers the encoding lookups MySql.Data makes for every column of every result before the
/// <c>CodePagesEncodingProvider</c> it registers gets asked: UTF-8 (<c>utf-8</c>, code page 65001; text
/// columns in utf8mb4) and US-ASCII (<c>us-ascii</c>, 20127; numeric columns, charset <c>binary</c>),
/// with <see cref="Encoding.UTF8"/> and <see cref="Encoding.ASCII"/>, the instances the runtime itself
/// returns for them. Every other lookup falls through to the next provider.
/// </summary>
/// <remarks>
/// Why: MySql.Data 8.0.16 resolves the encoding of each field of each result set by name
/// (<c>MySqlField.SetFieldEncoding</c>). Registered providers are asked before the built-in encodings,
/// and the code-pages provider does not remember "not mine": for UTF-8 and US-ASCII it scans its
/// code-page table from an embedded resource stream, under a process-wide lock, on every lookup.
/// Profiled with <c>perf</c> under bench/api load, that was the largest cost in the driver's own code
/// (about 3 % of the service's CPU, plus lock contention that grows with the number of threads; see
/// bench/api/README.md). Providers are asked in registration order, so <see cref="Register"/> runs at
/// start-up, before the first MySql.Data call.
/// </remarks>
public sealed class Utf8EncodingProvider : EncodingProvider
{
    private const int Utf8CodePage = 65001;
    private const int AsciiCodePage = 20127;
    private static int s_registered;

    private Utf8EncodingProvider()
    {
    }

    /// <summary>Registers the provider once per process; later calls do nothing.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            Encoding.RegisterProvider(new Utf8EncodingProvider());
        }
    }

    /// <summary>Returns UTF-8 for code page 65001, US-ASCII for 20127, otherwise <see langword="null"/>.</summary>
    /// <param name="codepage">The code page asked for.</param>
    /// <returns>The encoding, or <see langword="null"/> (another provider or the runtime answers).</returns>
    public override Encoding? GetEncoding(int codepage) => codepage switch
    {
        Utf8CodePage => Encoding.UTF8,
        AsciiCodePage => Encoding.ASCII,
        _ => null,
    };

    /// <summary>
    /// Returns UTF-8 for <c>utf-8</c> and <c>utf8</c>, US-ASCII for <c>us-ascii</c> (any case), otherwise
    /// <see langword="null"/>.
    /// </summary>
    /// <param name="name">The encoding name asked for.</param>
    /// <returns>The encoding, or <see langword="null"/> (another provider or the runtime answers).</returns>
    public override Encoding? GetEncoding(string name) =>
        string.Equals(name, "utf-8", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "utf8", StringComparison.OrdinalIgnoreCase)
            ? Encoding.UTF8
            : string.Equals(name, "us-ascii", StringComparison.OrdinalIgnoreCase)
                ? Encoding.ASCII
                : null;
}
