using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using UserApiOperator.Cli;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.Cli;

public sealed class RenderCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("render-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static (int Code, string Out, string Err) Render(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = RenderCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Sample_renders_its_objects_in_apply_order_without_owner_references()
    {
        var (code, output, error) = Render("-f", Repository.PathOf("config/samples/userapi.yaml"));

        Assert.Equal(0, code);
        Assert.Empty(error);
        var docs = YamlJson.ParseDocuments(output).Select(d => d!.AsObject()).ToList();
        Assert.Equal(["Secret", "Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"], docs.Select(d => (string?)d["kind"]));
        Assert.All(docs, d => Assert.Null(d["metadata"]!["ownerReferences"]));
        Assert.All(docs, d => Assert.Equal("default", (string?)d["metadata"]!["namespace"]));
        var password = Encoding.UTF8.GetString(Convert.FromBase64String((string)docs[0]["data"]!["MYSQL_PASSWORD"]!));
        Assert.True(password.Length >= 24, password);
    }

    public static TheoryData<string, string[]> Samples() => new()
    {
        { "config/samples/userapi.yaml", ["Secret", "Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"] },
        { "config/samples/userapi-autoscaling.yaml", ["Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"] },
        { "config/samples/userapi-external-database.yaml", ["Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"] },
        { "config/samples/userapi-existing-secret.yaml", ["Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"] },
        { "config/samples/userapi-placement.yaml", ["Secret", "Deployment", "Service", "Ingress", "PodDisruptionBudget", "NetworkPolicy"] },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_sample_renders_and_passes_the_validator(string sample, string[] kinds)
    {
        var (code, output, error) = Render("-f", Repository.PathOf(sample));

        Assert.True(code == 0, error);
        Assert.Equal(kinds, YamlJson.ParseDocuments(output).Select(d => (string?)d!["kind"]));
        Assert.Empty(UserApiOperator.Validation.UserApiValidator.Validate(UserApiOperator.Manifests.UserApiManifestReader.Read(File.ReadAllText(Repository.PathOf(sample)), sample).Single()));
    }

    [Fact]
    public void Every_sample_file_is_in_the_render_test()
    {
        var listed = Samples().Select(row => (string)row[0]).Order(StringComparer.Ordinal);
        var files = Directory.GetFiles(Repository.PathOf("config/samples"), "*.yaml").Select(f => $"config/samples/{Path.GetFileName(f)}").Order(StringComparer.Ordinal);

        Assert.Equal(files, listed);
    }

    [Fact]
    public void The_external_database_sample_renders_the_api_container_alone()
    {
        var deployment = YamlJson.ParseDocuments(Render("-f", Repository.PathOf("config/samples/userapi-external-database.yaml")).Out)[0]!;
        var pod = deployment["spec"]!["template"]!["spec"]!;

        Assert.Equal(["api"], pod["containers"]!.AsArray().Select(c => (string?)c!["name"]));
        Assert.Contains(pod["containers"]![0]!["env"]!.AsArray(), e => (string?)e!["name"] == "MYSQL_SSL_MODE" && (string?)e["value"] == "VerifyFull");
    }

    [Fact]
    public void A_sample_that_breaks_a_cel_rule_is_refused_by_render()
    {
        var file = Write("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: beta, namespace: default}
            spec: {pod: {labels: {app.kubernetes.io/name: other}}}
            """);

        var (code, output, error) = Render("-f", file);

        Assert.NotEqual(0, code);
        Assert.Empty(output);
        Assert.Contains("spec.pod.labels: must not set app.kubernetes.io/name", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_autoscaling_sample_renders_the_autoscaler_budget_and_network_policy()
    {
        var (code, output, error) = Render("-f", Repository.PathOf("config/samples/userapi-autoscaling.yaml"));

        Assert.Equal(0, code);
        Assert.Empty(error);
        var docs = YamlJson.ParseDocuments(output).Select(d => d!.AsObject()).ToList();
        Assert.Equal(["Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"], docs.Select(d => (string?)d["kind"]));
        Assert.Equal("3", docs[1]["spec"]!["replicas"]!.ToJsonString()); // The autoscaler's starting point: the default.
        Assert.Equal("UserApi", (string?)docs[4]["spec"]!["scaleTargetRef"]!["kind"]);
        Assert.Equal(("2", "6"), (docs[4]["spec"]!["minReplicas"]!.ToJsonString(), docs[4]["spec"]!["maxReplicas"]!.ToJsonString()));
    }

    [Fact]
    public void Each_render_generates_a_fresh_password()
    {
        string Password() => (string)YamlJson.ParseDocuments(Render("-f", Repository.PathOf("config/samples/userapi.yaml")).Out)[0]!["data"]!["MYSQL_PASSWORD"]!;

        Assert.NotEqual(Password(), Password());
    }

    [Fact]
    public void Input_with_a_uid_gets_owner_references_on_every_object()
    {
        var file = Write("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: beta, namespace: team-b, uid: 0a1b2c3d-0000-4000-8000-000000000001}
            spec: {ingress: {enabled: false}}
            """);

        var (code, output, _) = Render("-f", file);

        Assert.Equal(0, code);
        var docs = YamlJson.ParseDocuments(output);
        Assert.Equal(["Secret", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"], docs.Select(d => (string?)d!["kind"]));
        Assert.All(docs, d => Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""[{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","name":"beta","uid":"0a1b2c3d-0000-4000-8000-000000000001","controller":true,"blockOwnerDeletion":true}]"""),
            d!["metadata"]!["ownerReferences"])));
    }

    [Fact]
    public void Rendered_objects_use_the_wire_field_names()
    {
        var output = Render("-f", Repository.PathOf("config/samples/userapi.yaml")).Out;
        var deployment = YamlJson.ParseDocuments(output)[1]!;

        // Strings that look like numbers stay strings (env values must be strings).
        Assert.Contains("value: \"3306\"", output, StringComparison.Ordinal);
        Assert.Equal("mysql", (string?)deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["readinessProbe"]!["tcpSocket"]!["port"]);
        Assert.Equal("1", deployment["spec"]!["strategy"]!["rollingUpdate"]!["maxSurge"]!.ToJsonString());
        Assert.NotNull(deployment["spec"]!["template"]!["spec"]!["containers"]![1]!["securityContext"]!["allowPrivilegeEscalation"]);
    }

    [Fact]
    public void Every_UserApi_of_a_multi_document_file_is_rendered()
    {
        var file = Write("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: one}
            ---
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: two}
            spec: {ingress: {enabled: false}}
            """);

        var docs = YamlJson.ParseDocuments(Render("-f", file).Out);

        Assert.Equal(11, docs.Count);
        Assert.Equal(["one-mysql", "one", "one", "one", "one", "one", "two-mysql", "two", "two", "two", "two"], docs.Select(d => (string?)d!["metadata"]!["name"]));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "document 1: is apps/v1 Deployment, not a userapi.example.com/v1alpha1 UserApi" },
        { "a: [1, 2\n", "not valid YAML: line 2" },
        { "", "no YAML document" },
        { "- just\n- a list\n", "expected a UserApi object, got a list" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nspec: {}\n", "metadata: is required" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {replicas: 101}\n", "spec.replicas: must be at most 100, got 101" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {replicas: -1}\n", "spec.replicas: must be at least 0, got -1" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {api: {port: 70000}}\n", "spec.api.port: must be at most 65535" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {api: {imagePullPolicy: Sometimes}}\n", "spec.api.imagePullPolicy: must be one of Always, IfNotPresent, Never" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {ingress: {pathType: Regex}}\n", "spec.ingress.pathType: must be one of Prefix, Exact, ImplementationSpecific" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {ingress: {host: Bad_Host}}\n", "spec.ingress.host: \"Bad_Host\" does not match" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {ingress: {path: api}}\n", "spec.ingress.path: \"api\" does not match" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {replica: 3}\n", "spec.replica: unknown field" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {database: {passwordSecretRef: {key: k}}}\n", "spec.database.passwordSecretRef.name: is required" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {api: {resources: {limits: {cpu: lots}}}}\n", "spec.api.resources.limits[cpu]: \"lots\" is not a resource quantity" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: My_Api}\n", "metadata.name: \"My_Api\" must be a DNS-1035 label" },
        { "apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {replicas: three}\n", "spec.replicas: must be an integer, got the string \"three\"" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_gives_exit_1_and_one_line_naming_the_file_and_fault(string yaml, string expected)
    {
        var file = Write(yaml);

        var (code, output, error) = Render("-f", file);

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith($"render: {file}: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Missing_file_and_directory_are_named()
    {
        var missing = Path.Combine(_dir, "nope.yaml");
        Assert.Equal((1, "", $"render: {missing}: no such file\n"), Render("-f", missing));
        Assert.Equal((1, "", $"render: {_dir}: is a directory, not a file\n"), Render("-f", _dir));
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        Assert.Equal(2, Render().Code);
        Assert.Equal(2, Render("--frobnicate").Code);
        Assert.Equal(2, Render("-f").Code);
    }

    [Fact]
    public async Task The_real_process_prints_one_line_and_no_stack_trace_on_bad_input()
    {
        var file = Write("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: x}\nspec: {replicas: 500}\n");
        var operatorDll = OperatorBinary.Dll;
        var start = new ProcessStartInfo("dotnet", ["exec", operatorDll, "render", "-f", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        Assert.Equal("", await stdout);
        Assert.Equal($"render: {file}: document 1 (x): spec.replicas: must be at most 100, got 500\n", stderr);
    }
}
