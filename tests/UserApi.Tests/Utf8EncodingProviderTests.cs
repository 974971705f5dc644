using System.Text;
using UserApiService.Data;

namespace UserApiService.Tests;

/// <summary>
/// <see cref="Utf8EncodingProvider"/> answers exactly UTF-8 and US-ASCII, with the runtime's own
/// instances, and leaves every other encoding to the providers after it.
/// </summary>
public sealed class Utf8EncodingProviderTests
{
    [Fact]
    public void Utf8_and_ascii_lookups_get_the_runtime_instances()
    {
        Utf8EncodingProvider.Register();
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

        Assert.Same(Encoding.UTF8, Encoding.GetEncoding("utf-8"));
        Assert.Same(Encoding.UTF8, Encoding.GetEncoding("UTF8"));
        Assert.Same(Encoding.UTF8, Encoding.GetEncoding(65001));
        Assert.Same(Encoding.ASCII, Encoding.GetEncoding("us-ascii"));
        Assert.Same(Encoding.ASCII, Encoding.GetEncoding(20127));
        Assert.Equal("Zoë 🎉", Encoding.GetEncoding("utf-8").GetString(Encoding.UTF8.GetBytes("Zoë 🎉")));
    }

    [Fact]
    public void Other_encodings_still_come_from_the_code_pages_provider()
    {
        Utf8EncodingProvider.Register();
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

        var windows1252 = Encoding.GetEncoding("windows-1252");
        Assert.Equal(1252, windows1252.CodePage);
        Assert.Equal("é", windows1252.GetString([0xE9]));
        Assert.Equal(1251, Encoding.GetEncoding(1251).CodePage);
    }
}
