using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// x-kubernetes-validations enforced on create, update, patch and apply with kube-apiserver's error
/// shape (apiextensions-apiserver pkg/apiserver/schema/cel/validation.go): 422 Invalid, a cause at
/// the rule's path plus its fieldPath, of its reason, with its message or "failed rule: RULE".
/// </summary>
public sealed class CelValidationTests : FakeServerTest
{
    private const string Collection = "/apis/example.com/v1/namespaces/default/gadgets";

    private const string Crd = """
        {
          "apiVersion": "apiextensions.k8s.io/v1",
          "kind": "CustomResourceDefinition",
          "metadata": { "name": "gadgets.example.com" },
          "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList" },
            "versions": [{
              "name": "v1", "served": true, "storage": true,
              "schema": { "openAPIV3Schema": {
                "type": "object",
                "properties": {
                  "spec": {
                    "type": "object",
                    "properties": {
                      "min": { "type": "integer", "default": 1 },
                      "max": { "type": "integer", "default": 5 },
                      "tls": { "type": "object",
                        "properties": { "secret": { "type": "string" }, "host": { "type": "string" } },
                        "x-kubernetes-validations": [{ "rule": "!has(self.secret) || has(self.host)", "message": "a TLS secret needs a host", "fieldPath": ".host", "reason": "FieldValueRequired" }] },
                      "labels": { "type": "object", "additionalProperties": { "type": "string" },
                        "x-kubernetes-validations": [{ "rule": "!('owner' in self)", "message": "owner is reserved", "reason": "FieldValueForbidden" }] },
                      "names": { "type": "array", "items": { "type": "string" },
                        "x-kubernetes-validations": [{ "rule": "self.all(n, n.startsWith('g-'))" }] }
                    },
                    "x-kubernetes-validations": [{ "rule": "self.min <= self.max", "message": "min must not exceed max", "fieldPath": ".min" }]
                  }
                }
              } }
            }]
          }
        }
        """;

    private static JsonNode Gadget(string name, string spec) =>
        KubeHttp.Parse($$"""{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"{{name}}"},"spec":{{spec}}}""");

    private async Task InstallAsync()
    {
        var (code, body) = await Http.PostJsonAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KubeHttp.Parse(Crd));
        Assert.True(code == HttpStatusCode.Created, body.ToJsonString());
    }

    private static (string Field, string Reason, string Message) Cause(JsonObject body)
    {
        var cause = body["details"]!["causes"]!.AsArray().Single()!;
        return (cause["field"].Str()!, cause["reason"].Str()!, cause["message"].Str()!);
    }

    [Fact]
    public async Task A_false_rule_on_create_is_422_with_the_rules_message_at_its_field_path()
    {
        await InstallAsync();

        var (code, body) = await Http.PostJsonAsync(Collection, Gadget("g", """{"min":9,"max":2}"""));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        KubeHttp.AssertStatus(body, 422, "Invalid");
        Assert.Equal("Gadget.example.com \"g\" is invalid: spec.min: Invalid value: \"object\": min must not exceed max", body["message"].Str());
        Assert.Equal(("spec.min", "FieldValueInvalid", "Invalid value: \"object\": min must not exceed max"), Cause(body));
    }

    [Fact]
    public async Task Rules_run_after_defaulting_and_only_on_present_values()
    {
        await InstallAsync();

        // min 7 against the defaulted max 5 fails; no tls, labels or names: their rules do not run.
        var (code, body) = await Http.PostJsonAsync(Collection, Gadget("g", """{"min":7}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, code);
        Assert.Equal("spec.min", Cause(body).Field);

        var (ok, _) = await Http.PostJsonAsync(Collection, Gadget("h", "{}"));
        Assert.Equal(HttpStatusCode.Created, ok);
    }

    [Fact]
    public async Task Reasons_give_the_api_servers_error_kinds_and_a_rule_without_message_names_itself()
    {
        await InstallAsync();

        var (_, required) = await Http.PostJsonAsync(Collection, Gadget("a", """{"tls":{"secret":"s"}}"""));
        Assert.Equal(("spec.tls.host", "FieldValueRequired", "Required value: a TLS secret needs a host"), Cause(required));

        var (_, forbidden) = await Http.PostJsonAsync(Collection, Gadget("b", """{"labels":{"owner":"x"}}"""));
        Assert.Equal(("spec.labels", "FieldValueForbidden", "Forbidden: owner is reserved"), Cause(forbidden));

        var (_, unnamed) = await Http.PostJsonAsync(Collection, Gadget("c", """{"names":["g-1","x"]}"""));
        Assert.Equal(("spec.names", "FieldValueInvalid", "Invalid value: \"array\": failed rule: self.all(n, n.startsWith('g-'))"), Cause(unnamed));
    }

    [Fact]
    public async Task Updates_patches_and_applies_that_break_a_rule_are_rejected_and_leave_the_object_alone()
    {
        await InstallAsync();
        var (created, _) = await Http.PostJsonAsync(Collection, Gadget("g", """{"tls":{"secret":"s","host":"a.example.com"}}"""));
        Assert.Equal(HttpStatusCode.Created, created);

        var (patch, patchBody) = await Http.MergePatchAsync($"{Collection}/g", KubeHttp.Parse("""{"spec":{"tls":{"host":null}}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, patch);
        Assert.Equal("spec.tls.host", Cause(patchBody).Field);

        var (apply, _) = await Http.ApplyAsync($"{Collection}/g", """
            apiVersion: example.com/v1
            kind: Gadget
            metadata: {name: g}
            spec: {min: 6}
            """, "tester", force: true);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, apply);

        var (_, current) = await Http.GetJsonAsync($"{Collection}/g");
        Assert.Equal("a.example.com", current["spec"]!["tls"]!["host"].Str());
        Assert.Equal(1, current["spec"]!["min"]!.GetValue<int>());
    }
}
