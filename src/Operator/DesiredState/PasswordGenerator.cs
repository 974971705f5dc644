using System.Security.Cryptography;

namespace UserApiOperator.DesiredState;

/// <summary>Makes database passwords from the operating system's cryptographic random number generator.</summary>
public static class PasswordGenerator
{
    /// <summary>Length of a generated password: 32 characters of 62 kinds, about 190 bits.</summary>
    public const int Length = 32;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new password of <see cref="Length"/> letters and digits (no characters that need quoting in a shell or a URL).</summary>
    public static string Generate() => RandomNumberGenerator.GetString(Alphabet, Length);
}
