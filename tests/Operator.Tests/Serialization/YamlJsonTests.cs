using System.Text.Json.Nodes;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Tests.Serialization;

public class YamlJsonTests
{
    [Fact]
    public void Plain_scalars_resolve_to_json_types_and_quoted_ones_stay_strings()
    {
        var doc = YamlJson.ParseDocuments("""
            int: 3306
            negative: -1
            float: 1.5
            yes: true
            no: false
            nothing: null
            tilde: ~
            quotedInt: "3306"
            quotedBool: 'true'
            text: nginx
            list: [1, a]
            on1: yes
            off1: off
            """).Single()!;

        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"int":3306,"negative":-1,"float":1.5,"yes":true,"no":false,"nothing":null,"tilde":null,"quotedInt":"3306","quotedBool":"true","text":"nginx","list":[1,"a"],"on1":true,"off1":false}"""),
            doc));
    }

    [Fact]
    public void Multiple_documents_are_read_and_empty_ones_skipped()
    {
        var docs = YamlJson.ParseDocuments("---\na: 1\n---\n---\nb: 2\n");

        Assert.Equal(2, docs.Count);
    }

    [Fact]
    public void Duplicate_keys_are_an_error_naming_the_line()
    {
        var error = Assert.Throws<YamlFormatException>(() => YamlJson.ParseDocuments("a: 1\nb: 2\na: 3\n"));

        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("Duplicate key a", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3306")]
    [InlineData("true")]
    [InlineData("yes")]
    [InlineData("off")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("1e3")]
    [InlineData("0x1F")]
    [InlineData("line one\nline two")]
    [InlineData("key: value")]
    [InlineData("- item")]
    [InlineData("#comment")]
    [InlineData("Zoë 渡辺")]
    public void Strings_round_trip_as_strings(string text)
    {
        var yaml = YamlJson.ToYaml(new JsonObject { ["value"] = text });
        var back = YamlJson.ParseDocuments(yaml).Single()!;

        Assert.Equal(text, (string?)back["value"]);
    }

    [Fact]
    public void Documents_are_written_as_one_stream_with_separators()
    {
        var yaml = YamlJson.ToYaml([new JsonObject { ["a"] = 1 }, new JsonObject { ["b"] = new JsonArray(true, "x") }]);

        Assert.Equal("---\na: 1\n---\nb:\n- true\n- x\n", yaml);
    }
}
