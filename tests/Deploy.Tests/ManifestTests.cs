using System.Text.Json.Nodes;
using static UserApiOperator.Deploy.Tests.Manifest;

namespace UserApiOperator.Deploy.Tests;

/// <summary>
/// What <c>kubectl apply -k config/default</c> installs (issue 4, item 2), checked on the output of
/// <c>kubectl kustomize config/default</c>: the objects, their names and namespaces after the
/// namespace and namePrefix transforms, the references between them, and the operator's Deployment.
/// </summary>
public sealed class ManifestTests
{
    private const string Ns = "userapi-system";
    private const string Prefix = "userapi-operator-";

    private static readonly HashSet<string> ClusterScoped = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"];

    private static JsonObject Deployment => RenderedManifests.Single("Deployment");

    private static JsonObject Container => Assert.Single(Items(Deployment, "spec", "template", "spec", "containers"));

    [Fact]
    public void Renders_exactly_the_namespace_crd_rbac_manager_and_metrics_service()
    {
        var rendered = RenderedManifests.Objects().Select(o => $"{Kind(o)} {Namespace(o)}/{Name(o)}").Order(StringComparer.Ordinal).ToList();
        string[] expected =
        [
            "ClusterRole /userapi-operator-manager-role",
            "ClusterRoleBinding /userapi-operator-manager-rolebinding",
            "CustomResourceDefinition /userapis.userapi.example.com",
            "Deployment userapi-system/userapi-operator-controller-manager",
            "Namespace /userapi-system",
            "Role userapi-system/userapi-operator-leader-election-role",
            "RoleBinding userapi-system/userapi-operator-leader-election-rolebinding",
            "Service userapi-system/userapi-operator-controller-manager-metrics-service",
            "ServiceAccount userapi-system/userapi-operator-controller-manager",
        ];
        Assert.Equal(expected, rendered);
    }

    [Fact]
    public void Every_object_has_what_the_api_server_needs_and_its_scope()
    {
        var objects = RenderedManifests.Objects();
        Assert.NotEmpty(objects);
        foreach (var obj in objects)
        {
            var what = $"{Kind(obj)} {Name(obj)}";
            Assert.Matches("^([a-z0-9.-]+/)?v[0-9]+((alpha|beta)[0-9]+)?$", Str(obj, "apiVersion") ?? "(no apiVersion)");
            Assert.Matches("^[A-Z][A-Za-z]+$", Kind(obj));
            Assert.True(Name(obj).Length is > 0 and <= 253, $"{what}: metadata.name");
            Assert.Matches("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", Name(obj));
            if (ClusterScoped.Contains(Kind(obj)))
            {
                Assert.True(At(obj, "metadata", "namespace") is null, $"{what} is cluster-scoped but has a namespace");
            }
            else
            {
                Assert.True(Namespace(obj) == Ns, $"{what} is in namespace \"{Namespace(obj)}\", expected {Ns}");
            }
        }
    }

    [Fact]
    public void The_namespace_comes_first_and_names_carry_the_prefix()
    {
        var objects = RenderedManifests.Objects();
        Assert.Equal(("Namespace", Ns), (Kind(objects[0]), Name(objects[0])));
        foreach (var obj in objects.Where(o => Kind(o) is not ("Namespace" or "CustomResourceDefinition")))
        {
            Assert.StartsWith(Prefix, Name(obj), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_crd_is_the_generated_one_untouched_by_the_prefix()
    {
        var crd = RenderedManifests.Single("CustomResourceDefinition");
        Assert.Equal("userapis.userapi.example.com", Name(crd));
        Assert.Equal("userapi.example.com", Str(crd, "spec", "group"));
        Assert.Equal("UserApi", Str(crd, "spec", "names", "kind"));

        var file = Assert.Single(ManifestYaml.ParseStream(File.ReadAllText(Repository.PathOf("config/crd/userapi.example.com_userapis.yaml"))));
        Assert.True(JsonNode.DeepEquals(file, crd), "the rendered CRD differs from config/crd/userapi.example.com_userapis.yaml");
    }

    [Fact]
    public void Bindings_reference_rendered_roles_and_the_operators_service_account()
    {
        var serviceAccount = RenderedManifests.Single("ServiceAccount");
        var subject = (Kind: "ServiceAccount", Name: Name(serviceAccount), Namespace: Ns);
        Assert.Equal(Prefix + "controller-manager", subject.Name);
        Assert.Equal(Ns, Namespace(serviceAccount));

        var clusterBinding = RenderedManifests.Single("ClusterRoleBinding");
        Assert.Equal(("rbac.authorization.k8s.io", "ClusterRole", Name(RenderedManifests.Single("ClusterRole"))),
            (Str(clusterBinding, "roleRef", "apiGroup"), Str(clusterBinding, "roleRef", "kind"), Str(clusterBinding, "roleRef", "name")));
        Assert.Equal([subject], Items(clusterBinding, "subjects").Select(s => (Str(s, "kind"), Str(s, "name"), Str(s, "namespace"))));

        var binding = RenderedManifests.Single("RoleBinding");
        var role = RenderedManifests.Single("Role");
        Assert.Equal(Namespace(role), Namespace(binding));
        Assert.Equal(("rbac.authorization.k8s.io", "Role", Name(role)),
            (Str(binding, "roleRef", "apiGroup"), Str(binding, "roleRef", "kind"), Str(binding, "roleRef", "name")));
        Assert.Equal([subject], Items(binding, "subjects").Select(s => (Str(s, "kind"), Str(s, "name"), Str(s, "namespace"))));
    }

    [Fact]
    public void Deployment_runs_the_operator_image_once_as_its_service_account()
    {
        var deployment = Deployment;
        Assert.Equal(Prefix + "controller-manager", Name(deployment));
        Assert.Equal(1, At(deployment, "spec", "replicas")?.GetValue<long>());
        Assert.Equal(Name(RenderedManifests.Single("ServiceAccount")), Str(deployment, "spec", "template", "spec", "serviceAccountName"));
        Assert.Equal(RenderedManifests.OperatorServiceAccount(), (Ns, Name(RenderedManifests.Single("ServiceAccount"))));
        Assert.Equal(30, At(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds")?.GetValue<long>());
        Assert.Equal("userapi-operator:latest", Str(Container, "image"));
        Assert.Equal("IfNotPresent", Str(Container, "imagePullPolicy"));

        var selector = At(deployment, "spec", "selector", "matchLabels")!.AsObject();
        var podLabels = At(deployment, "spec", "template", "metadata", "labels")!.AsObject();
        Assert.Equal("userapi-operator", Str(selector, "app.kubernetes.io/name"));
        Assert.Equal("controller-manager", Str(selector, "control-plane"));
        foreach (var (key, value) in selector)
        {
            Assert.Equal(value?.GetValue<string>(), Str(podLabels, key));
        }
    }

    [Fact]
    public void Deployment_is_non_root_read_only_unprivileged_with_no_capabilities()
    {
        var pod = At(Deployment, "spec", "template", "spec", "securityContext");
        Assert.Equal(true, At(pod, "runAsNonRoot")?.GetValue<bool>());
        Assert.Equal("RuntimeDefault", Str(pod, "seccompProfile", "type"));

        var container = At(Container, "securityContext");
        Assert.Equal(true, At(container, "runAsNonRoot")?.GetValue<bool>());
        Assert.Equal(true, At(container, "readOnlyRootFilesystem")?.GetValue<bool>());
        Assert.Equal(false, At(container, "allowPrivilegeEscalation")?.GetValue<bool>());
        Assert.Equal(["ALL"], Strings(container, "capabilities", "drop"));
        Assert.Empty(Strings(container, "capabilities", "add"));
        Assert.Equal("RuntimeDefault", Str(container, "seccompProfile", "type"));
        Assert.Null(At(container, "privileged"));

        // A read-only root filesystem still needs a writable /tmp (the runtime's diagnostics socket).
        var mount = Assert.Single(Items(Container, "volumeMounts"), m => Str(m, "mountPath") == "/tmp");
        var volume = Assert.Single(Items(Deployment, "spec", "template", "spec", "volumes"), v => Str(v, "name") == Str(mount, "name"));
        Assert.NotNull(At(volume, "emptyDir"));
    }

    [Fact]
    public void Deployment_probes_health_on_named_ports_matching_the_bind_address_flags()
    {
        var args = Strings(Container, "args");
        Assert.Contains("--leader-elect", args);
        var ports = Items(Container, "ports").ToDictionary(p => Str(p, "name") ?? "", p => At(p, "containerPort")!.GetValue<long>());
        Assert.Equal(new Dictionary<string, long> { ["metrics"] = 8080, ["health"] = 8081 }, ports);
        Assert.Equal(ports["health"], FlagPort(args, "--health-probe-bind-address"));
        Assert.Equal(ports["metrics"], FlagPort(args, "--metrics-bind-address"));

        foreach (var (probe, path) in new[] { ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz") })
        {
            Assert.Equal(path, Str(Container, probe, "httpGet", "path"));
            var port = Str(Container, probe, "httpGet", "port");
            Assert.True(port is not null && ports.ContainsKey(port), $"{probe} port \"{port}\" is not a named container port ({string.Join(", ", ports.Keys)})");
            Assert.Equal("health", port);
        }
    }

    [Fact]
    public void Deployment_passes_pod_name_and_namespace_from_the_downward_api()
    {
        var env = Items(Container, "env").ToDictionary(e => Str(e, "name") ?? "");
        Assert.Equal("metadata.name", Str(env["POD_NAME"], "valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("metadata.namespace", Str(env["POD_NAMESPACE"], "valueFrom", "fieldRef", "fieldPath"));
        Assert.Null(At(env["POD_NAME"], "value"));
        Assert.Null(At(env["POD_NAMESPACE"], "value"));
    }

    [Fact]
    public void Deployment_sets_requests_and_limits()
    {
        var resources = At(Container, "resources");
        Assert.Equal(("10m", "64Mi"), (Str(resources, "requests", "cpu"), Str(resources, "requests", "memory")));
        Assert.Equal(("500m", "256Mi"), (Str(resources, "limits", "cpu"), Str(resources, "limits", "memory")));
    }

    [Fact]
    public void Metrics_service_selects_the_operator_pods_and_targets_the_metrics_port()
    {
        var service = RenderedManifests.Single("Service");
        var podLabels = At(Deployment, "spec", "template", "metadata", "labels")!.AsObject();
        var selector = At(service, "spec", "selector")!.AsObject();
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
        {
            Assert.Equal(value?.GetValue<string>(), Str(podLabels, key));
        }

        var port = Assert.Single(Items(service, "spec", "ports"));
        Assert.Equal(("metrics", 8080L, "metrics"), (Str(port, "name"), At(port, "port")?.GetValue<long>(), Str(port, "targetPort")));
        Assert.Contains(Items(Container, "ports"), p => Str(p, "name") == "metrics");
    }

    [Fact]
    public async Task Image_is_set_by_name_so_kustomize_edit_set_image_works()
    {
        var manager = ManifestYaml.ParseStream(await File.ReadAllTextAsync(Repository.PathOf("config/manager/kustomization.yaml"))).Single();
        Assert.Contains(Items(manager, "images"), i => Str(i, "name") == "userapi-operator");

        // An overlay that sets the image, as `kustomize edit set image` writes it, must reach the Deployment.
        var overlay = Directory.CreateTempSubdirectory("deploy-tests-overlay-");
        try
        {
            var resource = Path.GetRelativePath(overlay.FullName, Repository.PathOf(RenderedManifests.Kustomization)).Replace('\\', '/');
            await File.WriteAllTextAsync(Path.Combine(overlay.FullName, "kustomization.yaml"), $"""
                resources:
                - {resource}
                images:
                - name: userapi-operator
                  newName: registry.example.com/userapi-operator
                  newTag: v0.1.0
                """);
            var result = await ProcessRunner.RunAsync(ProcessRunner.StartInfo("kubectl", ["kustomize", overlay.FullName], Repository.Root), TimeSpan.FromSeconds(120));
            Assert.True(result.ExitCode == 0, result.Transcript);
            var deployment = Assert.Single(ManifestYaml.ParseStream(result.Output), o => Kind(o) == "Deployment");
            Assert.Equal("registry.example.com/userapi-operator:v0.1.0", Str(deployment, "spec", "template", "spec", "containers", 0, "image"));
        }
        finally
        {
            overlay.Delete(recursive: true);
        }
    }

    private static long FlagPort(IReadOnlyList<string> args, string flag)
    {
        var value = args.SingleOrDefault(a => a.StartsWith(flag + "=", StringComparison.Ordinal))?[(flag.Length + 1)..];
        Assert.True(value is not null, $"args do not set {flag}=ADDRESS: {string.Join(' ', args)}");
        return long.Parse(value[(value.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
