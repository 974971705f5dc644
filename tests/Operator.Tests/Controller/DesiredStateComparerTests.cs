using System.Text.Json.Nodes;
using UserApiOperator.DesiredState;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.Controller;

public class DesiredStateComparerTests
{
    private static bool Satisfied(string desired, string actual) =>
        DesiredStateComparer.IsSatisfiedBy(JsonNode.Parse(desired), JsonNode.Parse(actual));

    [Theory]
    [InlineData("""{"a":1}""", """{"a":1,"b":2}""", true)]
    [InlineData("""{"a":1}""", """{"a":2}""", false)]
    [InlineData("""{"a":1}""", """{}""", false)]
    [InlineData("""{"a":1.0}""", """{"a":1}""", true)]
    [InlineData("""{"a":"1"}""", """{"a":1}""", false)]
    [InlineData("""{"l":[{"x":1}]}""", """{"l":[{"x":1,"y":2}]}""", true)]
    [InlineData("""{"l":[{"x":1}]}""", """{"l":[{"x":1},{"x":2}]}""", false)]
    [InlineData("""{"o":{"p":{"q":true}}}""", """{"o":{"p":{"q":false}}}""", false)]
    public void Desired_fields_must_all_be_present_with_equal_values(string desired, string actual, bool expected)
    {
        Assert.Equal(expected, Satisfied(desired, actual));
    }

    [Fact]
    public void The_desired_hash_changes_when_a_field_is_dropped()
    {
        var withAnnotation = DesiredObjects.For(UserApis.FromSpec("ingress: {annotations: {a: b}}"), "pw").Ingress!;
        var without = DesiredObjects.For(UserApis.FromSpec(), "pw").Ingress!;

        Assert.NotEqual(withAnnotation.Metadata.Annotations![DesiredHash.Annotation], without.Metadata.Annotations![DesiredHash.Annotation]);
        Assert.Equal(16, without.Metadata.Annotations[DesiredHash.Annotation].Length);
    }

    [Fact]
    public void The_desired_hash_is_stable()
    {
        string Hash() => DesiredObjects.For(UserApis.FromSpec(), Guid.NewGuid().ToString()).Deployment.Metadata.Annotations![DesiredHash.Annotation];

        Assert.Equal(Hash(), Hash());
    }
}
