using System.Text;
using System.Text.Json;
using UserApiService.Data;
using UserApiService.Json;

namespace UserApiService.Tests;

/// <summary>JSON text as FastAPI writes it: raw UTF-8, only what JSON requires escaped.</summary>
public sealed class FastApiJsonEncoderTests
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = FastApiJsonEncoder.Instance };

    [Theory]
    [InlineData("Zoë", "\"Zoë\"")]
    [InlineData("渡辺", "\"渡辺\"")]
    [InlineData("Дмитрий", "\"Дмитрий\"")]
    [InlineData("Chloé 🎉", "\"Chloé 🎉\"")]
    [InlineData("O'Brien <b>&amp; +", "\"O'Brien <b>&amp; +\"")]
    [InlineData("\u2028\u00AD\uFFFD", "\"\u2028\u00AD\uFFFD\"")]
    [InlineData("quote \" backslash \\", "\"quote \\\" backslash \\\\\"")]
    [InlineData("tab\tnew\nline\rbell\u0007nul\0", "\"tab\\tnew\\nline\\rbell\\u0007nul\\u0000\"")]
    [InlineData("\b\f\u001F", "\"\\b\\f\\u001F\"")]
    public void Strings_are_written_like_python_json_dumps_without_ensure_ascii(string value, string expectedJson)
    {
        var utf8 = JsonSerializer.SerializeToUtf8Bytes(value, Options);
        Assert.Equal(expectedJson, Encoding.UTF8.GetString(utf8));
        Assert.Equal(value, JsonSerializer.Deserialize<string>(utf8, Options));
    }

    [Fact]
    public void Unpaired_surrogates_become_the_replacement_character()
    {
        var json = JsonSerializer.Serialize("a\uD800b", Options);
        Assert.Equal("\"a\uFFFDb\"", json);
    }

    [Fact]
    public void Users_serialise_with_snake_case_names_in_column_order()
    {
        var json = JsonSerializer.Serialize(new User(7, "Ærøskøbing", null), Options);
        Assert.Equal("""{"user_id":7,"username":"Ærøskøbing","email":null}""", json);
    }

    [Fact]
    public void Long_strings_with_late_escapes_round_trip()
    {
        var value = new string('é', 5000) + "\"" + string.Concat(Enumerable.Repeat("🎉", 3000)) + "\n";
        var json = JsonSerializer.Serialize(value, Options);
        Assert.DoesNotContain("\\u", json, StringComparison.Ordinal);
        Assert.Equal(value, JsonSerializer.Deserialize<string>(json, Options));
    }
}
