using System.Text.Json.Nodes;
using UserApiOperator.Cli;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Crd;

namespace UserApiOperator.Tests.Crd;

public class CrdDriftTests
{
    private const string CommittedCrd = "config/crd/userapi.example.com_userapis.yaml";

    private static JsonObject Generated() => CrdGenerator.Generate<V1Alpha1UserApi, UserApiSpec, UserApiStatus>();

    [Fact]
    public void Committed_crd_is_what_the_types_generate()
    {
        var committed = File.ReadAllText(Repository.PathOf(CommittedCrd));

        Assert.True(
            committed == CrdCommand.Render(),
            $"{CommittedCrd} is out of date with src/Operator/Entities: run hack/update-crd.sh and commit the result.");
    }

    [Fact]
    public void Crd_names_scope_subresources_and_columns_follow_the_design()
    {
        var crd = Generated();
        var spec = crd["spec"]!;

        Assert.Equal("userapis.userapi.example.com", (string?)crd["metadata"]!["name"]);
        Assert.Equal("userapi.example.com", (string?)spec["group"]);
        Assert.Equal("Namespaced", (string?)spec["scope"]);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"kind":"UserApi","listKind":"UserApiList","plural":"userapis","singular":"userapi","shortNames":["uapi"]}"""),
            spec["names"]));
        var version = spec["versions"]!.AsArray().Single()!;
        Assert.Equal(("v1alpha1", true, true), ((string?)version["name"], (bool)version["served"]!, (bool)version["storage"]!));
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas","labelSelectorPath":".status.selector"}}"""),
            version["subresources"]));
        var columns = version["additionalPrinterColumns"]!.AsArray().Select(c => ((string?)c!["name"], (string?)c["jsonPath"])).ToList();
        Assert.Equal(
            [
                ("Ready", ".status.conditions[?(@.type==\"Ready\")].status"),
                ("Replicas", ".status.readyReplicas"),
                ("Desired", ".spec.replicas"),
                ("URL", ".status.url"),
                ("Age", ".metadata.creationTimestamp"),
            ],
            columns);
    }

    [Fact]
    public void Every_spec_and_status_field_has_a_description()
    {
        var schema = Generated()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!.AsObject();
        var missing = new List<string>();
        Walk(schema["properties"]!["spec"]!.AsObject(), "spec", missing);
        Walk(schema["properties"]!["status"]!.AsObject(), "status", missing);

        Assert.Empty(missing);
    }

    [Fact]
    public void Defaults_and_bounds_of_the_design_are_in_the_schema()
    {
        var spec = Generated()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!["properties"]!;

        Assert.Equal(("3", "0", "100"), (Json(spec["replicas"]!["default"]), Json(spec["replicas"]!["minimum"]), Json(spec["replicas"]!["maximum"])));
        Assert.Equal("userapi:latest", (string?)spec["api"]!["properties"]!["image"]!["default"]);
        Assert.Equal("8000", Json(spec["api"]!["properties"]!["port"]!["default"]));
        Assert.Equal("65535", Json(spec["api"]!["properties"]!["port"]!["maximum"]));
        Assert.Equal("/ready", (string?)spec["api"]!["properties"]!["readinessPath"]!["default"]);
        Assert.Equal(["Always", "IfNotPresent", "Never"], spec["api"]!["properties"]!["imagePullPolicy"]!["enum"]!.AsArray().Select(e => (string?)e));
        Assert.Null(spec["api"]!["properties"]!["imagePullPolicy"]!["default"]);
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"256Mi"}}"""),
            spec["api"]!["properties"]!["resources"]!["default"]));
        // The built-in database's image and resources are not defaulted in the stored object, so that
        // "external excludes image and resources" can hold; the builder takes DatabaseSpec's defaults.
        Assert.Null(spec["database"]!["properties"]!["image"]!["default"]);
        Assert.Null(spec["database"]!["properties"]!["resources"]!["default"]);
        Assert.Equal(("3306", "Main", "root"), (
            Json(spec["database"]!["properties"]!["port"]!["default"]),
            (string?)spec["database"]!["properties"]!["name"]!["default"],
            (string?)spec["database"]!["properties"]!["user"]!["default"]));
        Assert.Null(spec["database"]!["properties"]!["passwordSecretRef"]!["default"]);
        Assert.Equal(["name"], spec["database"]!["properties"]!["passwordSecretRef"]!["required"]!.AsArray().Select(e => (string?)e));
        Assert.Equal("8000", Json(spec["service"]!["properties"]!["port"]!["default"]));
        var ingress = spec["ingress"]!["properties"]!;
        Assert.Equal((true, "nginx", "/", "Prefix"), (
            (bool)ingress["enabled"]!["default"]!,
            (string?)ingress["className"]!["default"],
            (string?)ingress["path"]!["default"],
            (string?)ingress["pathType"]!["default"]));
        Assert.Null(ingress["host"]!["default"]);
        Assert.NotNull(ingress["host"]!["pattern"]);
        // Nested objects default to {} so the API server applies the defaults inside them.
        Assert.All(["api", "database", "service", "ingress", "pod"], name => Assert.True(JsonNode.DeepEquals(new JsonObject(), spec[name]!["default"])));
    }

    [Fact]
    public void Kubernetes_types_in_the_spec_are_structural_with_their_wire_names_and_required_fields()
    {
        var pod = Generated()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!["properties"]!["pod"]!["properties"]!;

        var toleration = pod["tolerations"]!["items"]!["properties"]!.AsObject();
        Assert.Equal(["effect", "key", "operator", "tolerationSeconds", "value"], toleration.Select(p => p.Key).Order(StringComparer.Ordinal));
        var spread = pod["topologySpreadConstraints"]!;
        Assert.Equal(16, (int)spread["maxItems"]!);
        Assert.Equal(["maxSkew", "topologyKey", "whenUnsatisfiable"], spread["items"]!["required"]!.AsArray().Select(r => (string?)r));
        Assert.Null(spread["items"]!["properties"]!["maxSkew"]!["default"]);
        Assert.Equal(["nodeSelectorTerms"], pod["affinity"]!["properties"]!["nodeAffinity"]!["properties"]!["requiredDuringSchedulingIgnoredDuringExecution"]!["required"]!.AsArray().Select(r => (string?)r));

        // Structural (Kubernetes docs, "Specifying a structural schema"): every node has a type (or is
        // int-or-string), nothing preserves unknown fields.
        var untyped = new List<string>();
        void Walk(JsonObject schema, string path)
        {
            if (schema["type"] is null && schema["x-kubernetes-int-or-string"] is null) untyped.Add(path);
            Assert.Null(schema["x-kubernetes-preserve-unknown-fields"]);
            foreach (var (name, child) in schema["properties"]?.AsObject() ?? []) Walk(child!.AsObject(), $"{path}.{name}");
            if (schema["items"] is JsonObject items) Walk(items, path + "[]");
            if (schema["additionalProperties"] is JsonObject values) Walk(values, path + "{}");
        }

        Walk(Generated()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!.AsObject(), "");
        Assert.Empty(untyped);
    }

    [Fact]
    public void The_schema_defaults_are_themselves_valid()
    {
        var schema = new SchemaGenerator(null).Generate(typeof(UserApiSpec), withDefaults: false);

        Assert.Empty(SchemaValidator.Validate(UserApiOperator.Kubernetes.Serialization.Json.ToNode(new UserApiSpec()), schema, "spec"));
    }

    private static string? Json(JsonNode? node) => node?.ToJsonString();

    private static void Walk(JsonObject schema, string path, List<string> missing)
    {
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (name, child) in properties)
            {
                if (child!["description"] is null)
                {
                    missing.Add($"{path}.{name}");
                }

                Walk(child.AsObject(), $"{path}.{name}", missing);
            }
        }

        if (schema["items"] is JsonObject items)
        {
            Walk(items, path + "[]", missing);
        }
    }
}
