using System.Text.Json.Nodes;
using UserApiOperator.Kubernetes.Crd;
using UserApiOperator.Validation;

namespace UserApiOperator.Tests.Crd;

public class SchemaValidatorTests
{
    private static readonly JsonObject Schema = JsonNode.Parse("""
        {
          "type": "object",
          "required": ["name"],
          "properties": {
            "name": {"type": "string", "minLength": 1, "pattern": "^[a-z]*$"},
            "count": {"type": "integer", "minimum": 0, "maximum": 10},
            "mode": {"type": "string", "enum": ["A", "B"]},
            "on": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "size": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true}
          }
        }
        """)!.AsObject();

    private static IReadOnlyList<FieldError> Check(string json) => SchemaValidator.Validate(JsonNode.Parse(json), Schema, "spec");

    [Fact]
    public void A_valid_object_has_no_errors()
    {
        Assert.Empty(Check("""{"name":"abc","count":10,"mode":"B","on":false,"tags":["x"],"labels":{"a":"b"},"size":"1Gi"}"""));
        Assert.Empty(Check("""{"name":"abc","size":3,"count":null}"""));
    }

    [Theory]
    [InlineData("""{}""", "spec.name", "is required")]
    [InlineData("""{"name":""}""", "spec.name", "must not be empty")]
    [InlineData("""{"name":"ABC"}""", "spec.name", "does not match the pattern")]
    [InlineData("""{"name":"a","count":11}""", "spec.count", "must be at most 10, got 11")]
    [InlineData("""{"name":"a","count":-1}""", "spec.count", "must be at least 0, got -1")]
    [InlineData("""{"name":"a","count":1.5}""", "spec.count", "must be an integer")]
    [InlineData("""{"name":"a","count":"3"}""", "spec.count", "must be an integer, got the string \"3\"")]
    [InlineData("""{"name":"a","mode":"C"}""", "spec.mode", "must be one of A, B")]
    [InlineData("""{"name":"a","on":"yes"}""", "spec.on", "must be true or false")]
    [InlineData("""{"name":"a","tags":"x"}""", "spec.tags", "must be a list")]
    [InlineData("""{"name":"a","tags":["ok","long"]}""", "spec.tags[1]", "at most 3 characters")]
    [InlineData("""{"name":"a","labels":{"k":1}}""", "spec.labels[k]", "must be a string")]
    [InlineData("""{"name":"a","size":true}""", "spec.size", "must be an integer or a string")]
    [InlineData("""{"name":"a","colour":"red"}""", "spec.colour", "unknown field")]
    public void Each_violation_names_the_field(string json, string field, string message)
    {
        var error = Assert.Single(Check(json));

        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_violation_is_reported_not_just_the_first()
    {
        var fields = Check("""{"count":99,"mode":"Z"}""").Select(e => e.Field).ToHashSet();

        Assert.Equal(new HashSet<string> { "spec.name", "spec.count", "spec.mode" }, fields);
    }

    [Theory]
    [InlineData("alpha", true)]
    [InlineData("a1-b2", true)]
    [InlineData("1alpha", false)]
    [InlineData("Alpha", false)]
    [InlineData("alpha-", false)]
    [InlineData("al.pha", false)]
    [InlineData("", false)]
    public void UserApi_names_must_be_DNS_1035_labels(string name, bool valid)
    {
        Assert.Equal(valid, UserApiValidator.ValidateName(name).Count == 0);
    }

    [Fact]
    public void UserApi_names_longer_than_63_characters_are_rejected()
    {
        Assert.Empty(UserApiValidator.ValidateName(new string('a', 63)));
        Assert.Single(UserApiValidator.ValidateName(new string('a', 64)));
    }
}
