using UserApiOperator.DesiredState;
using UserApiOperator.Manifests;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class ServiceAndIngressBuilderTests
{
    [Fact]
    public void Service_is_cluster_ip_port_http_to_target_port_http_selecting_the_pods()
    {
        var service = ServiceBuilder.Build(UserApis.FromSpec("service: {port: 80}"));

        Assert.Equal("ClusterIP", service.Spec!.Type);
        Assert.Equal(UserApiLabels.Selector(UserApis.FromSpec()), service.Spec.Selector);
        var port = Assert.Single(service.Spec.Ports!);
        Assert.Equal(("http", 80, "TCP"), (port.Name, port.Port, port.Protocol));
        Assert.Equal("http", port.TargetPort!.Value);
    }

    [Fact]
    public void Default_ingress_is_class_nginx_all_hosts_prefix_slash_to_the_service_port()
    {
        var ingress = IngressBuilder.Build(UserApis.FromSpec())!;

        Assert.Equal("nginx", ingress.Spec!.IngressClassName);
        Assert.Null(ingress.Spec.Tls);
        Assert.Null(ingress.Metadata.Annotations);
        var rule = Assert.Single(ingress.Spec.Rules!);
        Assert.Null(rule.Host);
        var path = Assert.Single(rule.Http!.Paths);
        Assert.Equal(("/", "Prefix"), (path.Path, path.PathType));
        Assert.Equal("alpha", path.Backend.Service!.Name);
        Assert.Equal(8000, path.Backend.Service.Port.Number);
    }

    [Fact]
    public void Ingress_host_tls_class_path_and_annotations_follow_the_spec()
    {
        var ingress = IngressBuilder.Build(UserApis.FromSpec("""
            service: {port: 8080}
            ingress:
              className: traefik
              host: users.example.com
              path: /api
              pathType: Exact
              tlsSecretName: users-tls
              annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: "30"}
            """))!;

        Assert.Equal("traefik", ingress.Spec!.IngressClassName);
        var rule = Assert.Single(ingress.Spec.Rules!);
        Assert.Equal("users.example.com", rule.Host);
        var path = Assert.Single(rule.Http!.Paths);
        Assert.Equal(("/api", "Exact", 8080), (path.Path, path.PathType, path.Backend.Service!.Port.Number));
        var tls = Assert.Single(ingress.Spec.Tls!);
        Assert.Equal(["users.example.com"], tls.Hosts);
        Assert.Equal("users-tls", tls.SecretName);
        Assert.Equal("30", ingress.Metadata.Annotations!["nginx.ingress.kubernetes.io/proxy-read-timeout"]);
    }

    [Fact]
    public void Tls_without_host_is_rejected_by_the_crd_rule()
    {
        var error = Assert.Throws<ManifestException>(() => UserApis.FromSpec("ingress: {tlsSecretName: wildcard-tls}"));

        Assert.Contains("spec.ingress.host: tlsSecretName needs a host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disabled_ingress_is_not_built()
    {
        var desired = DesiredObjects.For(UserApis.FromSpec("ingress: {enabled: false}"), "pw");

        Assert.Null(desired.Ingress);
        Assert.Equal(["Secret", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"], desired.All().Select(o => o.Kind));
    }
}
