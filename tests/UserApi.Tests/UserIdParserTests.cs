using System.Numerics;
using UserApiService.Endpoints;

namespace UserApiService.Tests;

/// <summary>FastAPI (pydantic v2 lax mode) integer parsing of the user_id path segment.</summary>
public sealed class UserIdParserTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("42", "42")]
    [InlineData("-42", "-42")]
    [InlineData("+42", "42")]
    [InlineData("0042", "42")]
    [InlineData("-0042", "-42")]
    [InlineData(" 42\t", "42")]
    [InlineData("42.0", "42")]
    [InlineData("42.000", "42")]
    [InlineData("1_000", "1000")]
    [InlineData("1_0_0", "100")]
    [InlineData("999999999999999999", "999999999999999999")] // 18 digits: the plain fast path
    [InlineData("000000000000000042", "42")]
    [InlineData("9999999999999999999", "9999999999999999999")] // 19 digits: the general path
    [InlineData("9223372036854775808", "9223372036854775808")]
    [InlineData("-123456789012345678901234567890", "-123456789012345678901234567890")]
    public void Integers_parse(string input, string expected)
    {
        Assert.True(UserIdParser.TryParse(input, out var value, out var error));
        Assert.Null(error);
        Assert.Equal(BigInteger.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("abc")]
    [InlineData("1a")]
    [InlineData("1.5")]
    [InlineData("1.")]
    [InlineData(".0")]
    [InlineData("1e3")]
    [InlineData("0x1F")]
    [InlineData("--1")]
    [InlineData("+-1")]
    [InlineData("-+1")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("1__0")]
    [InlineData("1 0")]
    [InlineData("١٢")] // Arabic-Indic digits: not ASCII digits
    [InlineData("1 OR 1=1")]
    [InlineData("1;DROP TABLE Users")]
    [InlineData("1'--")]
    public void Non_integers_are_int_parsing_errors_that_echo_the_input(string input)
    {
        Assert.False(UserIdParser.TryParse(input, out _, out var error));
        Assert.NotNull(error);
        Assert.Equal("int_parsing", error.Type);
        Assert.Equal(["path", "user_id"], error.Loc);
        Assert.Equal("Input should be a valid integer, unable to parse string as an integer", error.Msg);
        Assert.Equal(input, error.Input);
    }

    [Fact]
    public void Longest_integer_pydantic_accepts_parses_and_one_more_digit_is_too_large()
    {
        Assert.True(UserIdParser.TryParse(new string('7', UserIdParser.MaxLength), out var value, out _));
        Assert.True(value > long.MaxValue);

        Assert.False(UserIdParser.TryParse(new string('7', UserIdParser.MaxLength + 1), out _, out var error));
        Assert.Equal("int_parsing_size", error!.Type);
        Assert.Equal("Unable to parse input string as an integer, exceeded maximum size", error.Msg);
    }
}
