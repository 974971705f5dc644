using System.Text.Json;
using System.Text.Json.Nodes;
using UserApiOperator.Runtime.Client;

namespace UserApiOperator.Tests.Runtime;

/// <summary>
/// The digest of what a field manager applied, read from <c>managedFields</c> as kube-apiserver
/// writes them (FieldsV1: <c>f:</c> fields, <c>k:</c> list items by their keys, <c>v:</c> set values,
/// <c>.</c> for the item itself), against the digest of the object about to be applied.
/// </summary>
public sealed class AppliedConfigurationTests
{
    private const string Manager = "userapi-operator";

    /// <summary>What the operator applies: a Deployment with one container and one port (no protocol: the server defaults it).</summary>
    private const string Desired = """
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"default","labels":{"app":"web"},
                     "ownerReferences":[{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","name":"web","uid":"u-1","controller":true,"blockOwnerDeletion":true}]},
         "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[{"name":"api","image":"userapi:1","ports":[{"name":"http","containerPort":8000}],
                                                    "resources":{"limits":{"memory":"256Mi"}}}],
                                     "securityContext":{}}}}}
        """;

    /// <summary>
    /// The same Deployment as kube-apiserver stores it: server fields and defaults added, the
    /// operator's Apply entry listing exactly the fields it applied, another manager's status entry.
    /// </summary>
    private static JsonObject Stored() => JsonNode.Parse("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"default","uid":"d-1","resourceVersion":"41","generation":1,
                     "creationTimestamp":"2026-12-07T10:00:00Z","labels":{"app":"web"},
                     "annotations":{"deployment.kubernetes.io/revision":"1"},
                     "ownerReferences":[{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","name":"web","uid":"u-1","controller":true,"blockOwnerDeletion":true}],
                     "managedFields":[
                       {"manager":"userapi-operator","operation":"Apply","apiVersion":"apps/v1","time":"2026-12-07T10:00:00Z","fieldsType":"FieldsV1",
                        "fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}},"f:ownerReferences":{"k:{\"uid\":\"u-1\"}":{}}},
                                    "f:spec":{"f:replicas":{},"f:selector":{},
                                              "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
                                                            "f:spec":{"f:containers":{"k:{\"name\":\"api\"}":{".":{},"f:image":{},"f:name":{},
                                                                                                         "f:ports":{"k:{\"containerPort\":8000,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:name":{}}},
                                                                                                         "f:resources":{"f:limits":{"f:memory":{}}}}},
                                                                      "f:securityContext":{}}}}}},
                       {"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1","time":"2026-12-07T10:00:01Z","fieldsType":"FieldsV1","subresource":"status",
                        "fieldsV1":{"f:status":{"f:replicas":{}}}}]},
         "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600,
                 "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[{"name":"api","image":"userapi:1","imagePullPolicy":"IfNotPresent",
                                                    "ports":[{"name":"http","containerPort":8000,"protocol":"TCP"}],
                                                    "resources":{"limits":{"memory":"256Mi"}},
                                                    "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],
                                     "restartPolicy":"Always","dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}},
         "status":{"replicas":3}}
        """)!.AsObject();

    private static UInt128? Owned(JsonNode stored) => AppliedConfiguration.OwnedDigest(JsonSerializer.SerializeToElement(stored), Manager);

    private static UInt128 DesiredDigest(string json = Desired) => AppliedConfiguration.DesiredDigest(JsonNode.Parse(json)!);

    [Fact]
    public void What_the_server_stores_of_an_apply_has_the_digest_of_what_was_applied()
    {
        Assert.Equal(DesiredDigest(), Owned(Stored()));
    }

    [Fact]
    public void A_field_another_manager_changed_is_no_longer_owned_as_applied()
    {
        // kubectl edit (an Update) of the image: the value changes and its ownership moves to kubectl.
        var stored = Stored();
        stored["spec"]!["template"]!["spec"]!["containers"]![0]!["image"] = "userapi:evil";
        var containers = stored["metadata"]!["managedFields"]![0]!["fieldsV1"]!["f:spec"]!["f:template"]!["f:spec"]!["f:containers"]!["k:{\"name\":\"api\"}"]!.AsObject();
        containers.Remove("f:image");

        Assert.NotEqual(DesiredDigest(), Owned(stored));
    }

    [Fact]
    public void A_value_changed_under_the_operators_ownership_shows()
    {
        var stored = Stored();
        stored["spec"]!["replicas"] = 1;

        Assert.NotEqual(DesiredDigest(), Owned(stored));
    }

    [Fact]
    public void A_field_the_operator_applied_and_someone_removed_shows()
    {
        var stored = Stored();
        stored["metadata"]!["labels"]!.AsObject().Remove("app");

        Assert.NotEqual(DesiredDigest(), Owned(stored));
    }

    [Fact]
    public void What_others_add_beside_the_applied_fields_changes_nothing()
    {
        var stored = Stored();
        stored["metadata"]!["annotations"]!["team"] = "blue";
        stored["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Add(JsonNode.Parse("""{"name":"sidecar","image":"proxy:1"}"""));
        stored["spec"]!["template"]!["spec"]!["containers"]![0]!["env"] = JsonNode.Parse("""[{"name":"INJECTED","value":"1"}]""");
        stored["metadata"]!["managedFields"]!.AsArray().Add(JsonNode.Parse("""
            {"manager":"injector","operation":"Update","apiVersion":"apps/v1","fieldsType":"FieldsV1",
             "fieldsV1":{"f:metadata":{"f:annotations":{"f:team":{}}},"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{},"f:name":{}}}}}}}}
            """));

        Assert.Equal(DesiredDigest(), Owned(stored));
    }

    [Fact]
    public void A_new_desired_state_differs_from_the_applied_one()
    {
        Assert.NotEqual(DesiredDigest(), DesiredDigest(Desired.Replace("\"replicas\":3", "\"replicas\":4", StringComparison.Ordinal)));
        // A field dropped from the desired state: the server still holds it, so the digests differ and the apply removes it.
        var withoutLimits = JsonNode.Parse(Desired)!;
        withoutLimits["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject().Remove("resources");
        Assert.NotEqual(Owned(Stored()), AppliedConfiguration.DesiredDigest(withoutLimits));
    }

    [Fact]
    public void No_apply_entry_of_the_manager_means_no_digest()
    {
        var stored = Stored();
        stored["metadata"]!["managedFields"]!.AsArray().RemoveAt(0);

        Assert.Null(Owned(stored));
        Assert.Null(AppliedConfiguration.OwnedDigest(JsonSerializer.SerializeToElement(Stored()), "someone-else"));
    }

    [Theory]
    [InlineData("""{"spec":{"a":1.50}}""", """{"spec":{"a":1.5}}""")]
    [InlineData("""{"spec":{"a":1,"b":2}}""", """{"spec":{"b":2,"a":1}}""")]
    [InlineData("""{"spec":{"a":1,"b":{}}}""", """{"spec":{"a":1}}""")]
    [InlineData("""{"spec":{"a":1,"b":[]}}""", """{"spec":{"a":1,"b":null}}""")]
    [InlineData("""{"kind":"X","apiVersion":"v1","metadata":{"name":"a","namespace":"b","labels":{"l":"v"}},"status":{"s":1}}""", """{"metadata":{"labels":{"l":"v"}}}""")]
    public void The_canonical_form_ignores_what_a_server_may_write_either_way(string a, string b)
    {
        Assert.Equal(DesiredDigest(a), DesiredDigest(b));
    }

    [Fact]
    public void Set_values_and_positions_select_list_items()
    {
        var stored = JsonNode.Parse("""
            {"metadata":{"finalizers":["a","b"],"managedFields":[{"manager":"userapi-operator","operation":"Apply",
              "fieldsV1":{"f:metadata":{"f:finalizers":{"v:\"b\"":{}}},"f:spec":{"f:args":{"i:1":{}}}}}]},
             "spec":{"args":["x","y","z"]}}
            """)!;

        Assert.Equal(DesiredDigest("""{"metadata":{"finalizers":["b"]},"spec":{"args":["y"]}}"""), Owned(stored));
    }
}
