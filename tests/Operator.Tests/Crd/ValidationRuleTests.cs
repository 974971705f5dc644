using System.Reflection;
using System.Text.Json.Nodes;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Crd;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Validation;

namespace UserApiOperator.Tests.Crd;

/// <summary>
/// Every CEL rule declared on the spec types is in the CRD (so the API server enforces it), compiles
/// in the operator's evaluator (so the validator and render enforce it), and has a spec here that
/// breaks it and one that keeps it: a rule in one place only, or one that the evaluator cannot run,
/// fails a test.
/// </summary>
public class ValidationRuleTests
{
    /// <summary>For each rule (by its message): a spec that violates it, the field the error names, and a spec that satisfies it.</summary>
    private static readonly Dictionary<string, (string Bad, string Field, string Good)> Examples = new(StringComparer.Ordinal)
    {
        ["tlsSecretName needs a host: the certificate is for a host name"] =
            ("""{"ingress":{"tlsSecretName":"tls"}}""", "spec.ingress.host", """{"ingress":{"tlsSecretName":"tls","host":"a.example.com"}}"""),
        ["external excludes the built-in database's image, resources, securityContext and passwordSecretRef (the external server's password is external.passwordSecretRef)"] =
            ("""{"database":{"image":"mysql:8","external":{"host":"db","passwordSecretRef":{"name":"s"}}}}""", "spec.database.external",
             """{"database":{"external":{"host":"db","passwordSecretRef":{"name":"s"}}}}"""),
        ["caSecretRef is used only with sslMode VerifyCA or VerifyFull"] =
            ("""{"database":{"external":{"host":"db","passwordSecretRef":{"name":"s"},"sslMode":"Required","caSecretRef":{"name":"ca"}}}}""", "spec.database.external.caSecretRef",
             """{"database":{"external":{"host":"db","passwordSecretRef":{"name":"s"},"sslMode":"VerifyCA","caSecretRef":{"name":"ca"}}}}"""),
        ["must not set app.kubernetes.io/name, app.kubernetes.io/instance or app.kubernetes.io/managed-by: the operator sets them and the first two select the Pods"] =
            ("""{"pod":{"labels":{"app.kubernetes.io/instance":"x"}}}""", "spec.pod.labels", """{"pod":{"labels":{"team":"x"}}}"""),
        ["a Localhost seccomp profile needs localhostProfile"] =
            ("""{"database":{"securityContext":{"seccompProfile":{"type":"Localhost"}}}}""", "spec.database.securityContext.seccompProfile.localhostProfile",
             """{"database":{"securityContext":{"seccompProfile":{"type":"Localhost","localhostProfile":"p.json"}}}}"""),
        ["minReplicas must be at most maxReplicas (the API server refuses such a HorizontalPodAutoscaler)"] =
            ("""{"autoscaling":{"minReplicas":5,"maxReplicas":3}}""", "spec.autoscaling.minReplicas", """{"autoscaling":{"minReplicas":3,"maxReplicas":3}}"""),
        ["set minAvailable or maxUnavailable, not both (the API server refuses such a PodDisruptionBudget)"] =
            ("""{"disruptionBudget":{"minAvailable":1,"maxUnavailable":1}}""", "spec.disruptionBudget.minAvailable", """{"disruptionBudget":{"minAvailable":1}}"""),
    };

    private static List<ValidationRuleAttribute> DeclaredRules()
    {
        var types = typeof(UserApiSpec).Assembly.GetTypes().Where(t => t.Namespace == typeof(UserApiSpec).Namespace);
        return types.SelectMany(t => t.GetCustomAttributes<ValidationRuleAttribute>()
                .Concat(t.GetProperties().SelectMany(p => p.GetCustomAttributes<ValidationRuleAttribute>())))
            .ToList();
    }

    private static List<JsonObject> RulesIn(JsonNode? schema) => schema switch
    {
        JsonObject obj => (obj["x-kubernetes-validations"] as JsonArray)?.OfType<JsonObject>().ToList() is { } own
            ? [.. own, .. obj.Where(p => p.Key != "x-kubernetes-validations").SelectMany(p => RulesIn(p.Value))]
            : [.. obj.SelectMany(p => RulesIn(p.Value))],
        JsonArray array => [.. array.SelectMany(RulesIn)],
        _ => [],
    };

    [Fact]
    public void Every_declared_rule_is_in_the_crd_compiles_and_has_an_example()
    {
        var declared = DeclaredRules();
        var crdRules = RulesIn(CrdGenerator.Generate<V1Alpha1UserApi, UserApiSpec, UserApiStatus>()).Select(r => (string)r["rule"]!).ToList();

        Assert.NotEmpty(declared);
        Assert.All(declared, rule =>
        {
            Assert.Contains(rule.Rule, crdRules);
            CelRules.Compile(rule.Rule);
            Assert.True(rule.Message is not null && Examples.ContainsKey(rule.Message), $"no example for the rule {rule.Rule}");
        });
        Assert.Equal(declared.Count, crdRules.Count);
    }

    public static TheoryData<string> Messages() => [.. Examples.Keys];

    [Theory]
    [MemberData(nameof(Messages))]
    public void The_validator_rejects_the_bad_example_at_the_rules_field_and_accepts_the_good_one(string message)
    {
        var (bad, field, good) = Examples[message];

        Assert.Contains(new FieldError(field, message), UserApiValidator.ValidateSpec(JsonNode.Parse(bad)));
        Assert.Empty(UserApiValidator.ValidateSpec(JsonNode.Parse(good)));
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task The_api_server_with_the_generated_crd_refuses_the_bad_example_and_stores_the_good_one(string message)
    {
        var (bad, field, good) = Examples[message];
        await using var api = await KubeApiFake.FakeKubeApiServer.StartAsync();
        await api.ApplyAsync(UserApiOperator.Cli.CrdCommand.Render());
        static string UserApi(string name, string spec) => $"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: {name}, namespace: default}}\nspec: {spec}\n";

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => api.ApplyAsync(UserApi("bad", bad)));
        Assert.Contains("422", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"{field}: ", refused.Message, StringComparison.Ordinal);
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
        Assert.Single(await api.ApplyAsync(UserApi("good", good)));
    }

    [Fact]
    public void A_rule_the_evaluator_cannot_run_is_reported_not_passed()
    {
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["x-kubernetes-validations"] = new JsonArray(new JsonObject { ["rule"] = "self.name.lowerAscii() == 'a'" }),
        };

        var error = Assert.Single(SchemaValidator.Validate(JsonNode.Parse("""{"name":"A"}"""), schema, "spec"));
        Assert.Equal("spec", error.Field);
        // lowerAscii is Kubernetes' strings library, not core CEL: the Cel package cannot run it.
        Assert.EndsWith("evaluating rule: self.name.lowerAscii() == 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_without_a_message_reports_the_rule_as_the_api_server_does()
    {
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["x-kubernetes-validations"] = new JsonArray(new JsonObject { ["rule"] = "self.min <= self.max" }),
        };

        Assert.Equal([new FieldError("spec", "failed rule: self.min <= self.max")], SchemaValidator.Validate(JsonNode.Parse("""{"min":3,"max":2}"""), schema, "spec"));
        Assert.Empty(SchemaValidator.Validate(JsonNode.Parse("""{"min":2,"max":3}"""), schema, "spec"));
    }

    [Fact]
    public void A_null_field_counts_as_absent_for_has()
    {
        Assert.Empty(UserApiValidator.ValidateSpec(JsonNode.Parse("""{"database":{"image":null,"external":{"host":"db","passwordSecretRef":{"name":"s"}}}}""")));
    }
}
