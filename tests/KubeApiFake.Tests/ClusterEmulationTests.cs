using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using k8s;

namespace KubeApiFake.Tests;

/// <summary>
/// What a cluster keeps around its API server (<see cref="FakeKubeApiServerOptions.EmulateCluster"/>):
/// the serviceaccounts controller's <c>default</c> ServiceAccount and the root-ca-cert-publisher's
/// <c>kube-root-ca.crt</c> in every namespace, and the bootstrap controller's <c>kubernetes</c>
/// Service with its Endpoints on the advertised address, which the server listens on with a serving
/// certificate that names it.
/// </summary>
public sealed class ClusterEmulationTests : FakeServerTest
{
    private static readonly IPAddress Advertised = IPAddress.Parse("127.0.0.2");

    protected override FakeKubeApiServerOptions CreateOptions() =>
        new() { UseTls = true, EnableAuthorization = true, EmulateCluster = true, AdvertiseAddress = Advertised };

    [Fact]
    public async Task Every_namespace_has_a_default_service_account_and_the_cluster_authority()
    {
        var created = await Http.PostJsonAsync("/api/v1/namespaces", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "team" } });
        Assert.Equal(HttpStatusCode.Created, created.Code);

        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease", "team" })
        {
            var (saCode, sa) = await Http.GetJsonAsync($"/api/v1/namespaces/{ns}/serviceaccounts/default");
            Assert.Equal(HttpStatusCode.OK, saCode);
            Assert.Equal("ServiceAccount", sa["kind"].Str());

            var (cmCode, cm) = await Http.GetJsonAsync($"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt");
            Assert.Equal(HttpStatusCode.OK, cmCode);
            Assert.Equal(Api.CertificateAuthorityPem, cm["data"]!["ca.crt"].Str());
            Assert.StartsWith("Contains a CA bundle that can be used to verify the kube-apiserver", cm["metadata"]!["annotations"]!["kubernetes.io/description"].Str(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_controllers_put_back_what_is_deleted_or_edited_but_not_in_a_deleted_namespace()
    {
        var (_, before) = await Http.GetJsonAsync("/api/v1/namespaces/default/serviceaccounts/default");
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/serviceaccounts/default")).Code);
        var (code, after) = await Http.GetJsonAsync("/api/v1/namespaces/default/serviceaccounts/default");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.NotEqual(before["metadata"]!["uid"].Str(), after["metadata"]!["uid"].Str());

        var edited = await Http.MergePatchAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt",
            new JsonObject { ["data"] = new JsonObject { ["ca.crt"] = "forged", ["extra"] = "x" } });
        Assert.Equal(HttpStatusCode.OK, edited.Code);
        var (_, restored) = await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
        Assert.Equal(Api.CertificateAuthorityPem, restored["data"]!["ca.crt"].Str());
        Assert.Null(restored["data"]!["extra"]);

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).Code);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).Code);

        await Http.PostJsonAsync("/api/v1/namespaces", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "gone" } });
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/gone")).Code);
        Assert.Empty(Api.Store.List(KnownResources.ServiceAccounts, "gone"));
        Assert.Empty(Api.Store.List(KnownResources.ConfigMaps, "gone"));
    }

    [Fact]
    public async Task The_kubernetes_service_and_its_endpoints_point_at_the_advertised_address()
    {
        var port = Api.BaseAddress.Port;
        var (_, service) = await Http.GetJsonAsync("/api/v1/namespaces/default/services/kubernetes");
        Assert.Equal("10.96.0.1", service["spec"]!["clusterIP"].Str());
        Assert.Null(service["spec"]!["selector"]);
        var servicePort = service["spec"]!["ports"]!.AsArray().Single()!;
        Assert.Equal("https", servicePort["name"].Str());
        Assert.Equal(443, servicePort["port"]!.GetValue<int>());
        Assert.Equal(port, servicePort["targetPort"]!.GetValue<int>());
        Assert.Equal("apiserver", service["metadata"]!["labels"]!["component"].Str());

        var (_, endpoints) = await Http.GetJsonAsync("/api/v1/namespaces/default/endpoints/kubernetes");
        var subset = endpoints["subsets"]!.AsArray().Single()!;
        Assert.Equal("127.0.0.2", subset["addresses"]!.AsArray().Single()!["ip"].Str());
        Assert.Equal(port, subset["ports"]!.AsArray().Single()!["port"]!.GetValue<int>());

        var (_, slice) = await Http.GetJsonAsync("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
        Assert.Equal("kubernetes", slice["metadata"]!["labels"]!["kubernetes.io/service-name"].Str());
        Assert.Equal("127.0.0.2", slice["endpoints"]!.AsArray().Single()!["addresses"]!.AsArray().Single().Str());

        // Deleted, they come back (the bootstrap controller keeps them).
        await Http.DeleteJsonAsync("/api/v1/namespaces/default/endpoints/kubernetes");
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/namespaces/default/endpoints/kubernetes")).Code);
    }

    [Fact]
    public async Task A_client_configured_as_InClusterConfig_configures_it_works_with_a_pod_bound_token()
    {
        // What the kubelet mounts: the kube-root-ca.crt ConfigMap's ca.crt and a TokenRequest token bound to the Pod.
        var directory = Directory.CreateTempSubdirectory("serviceaccount-").FullName;
        try
        {
            var (_, cm) = await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
            await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), cm["data"]!["ca.crt"].Str());
            var (_, pod) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("manager", ["manager"]));
            var (_, token) = await Http.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts/default/token",
                ServiceAccountTokenTests.TokenRequest(ServiceAccountTokenTests.BoundTo(pod), 3607, null));
            await File.WriteAllTextAsync(Path.Combine(directory, "token"), token["status"]!["token"].Str());
            await Http.PostJsonAsync("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", KubeHttp.Parse("""
                {"metadata":{"name":"default-view-namespaces"},
                 "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"namespaces-reader"},
                 "subjects":[{"kind":"ServiceAccount","name":"default","namespace":"default"}]}
                """));
            await Http.PostJsonAsync("/apis/rbac.authorization.k8s.io/v1/clusterroles", KubeHttp.Parse("""
                {"metadata":{"name":"namespaces-reader"},"rules":[{"apiGroups":[""],"resources":["namespaces"],"verbs":["list"]}]}
                """));

            // KubernetesClientConfiguration.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
            // (the kubernetes Endpoints), ca.crt as the only authority, the token file re-read as it rotates.
            var (_, endpoints) = await Http.GetJsonAsync("/api/v1/namespaces/default/endpoints/kubernetes");
            var host = endpoints["subsets"]![0]!["addresses"]![0]!["ip"].Str();
            var port = endpoints["subsets"]![0]!["ports"]![0]!["port"]!.GetValue<int>();
            var config = new k8s.KubernetesClientConfiguration
            {
                Host = new UriBuilder("https", host, port).ToString(),
                SslCaCerts = CaCertificates(Path.Combine(directory, "ca.crt")),
                TokenProvider = new k8s.Authentication.TokenFileAuth(Path.Combine(directory, "token")),
                Namespace = "default",
            };
            using var client = new k8s.Kubernetes(config);
            var namespaces = await client.CoreV1.ListNamespaceAsync();
            Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-system");
            Assert.Equal("system:serviceaccount:default:default", Api.Requests[^1].User!.Name);
            var denied = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => client.CoreV1.ListNamespacedSecretAsync("default"));
            Assert.Equal(HttpStatusCode.Forbidden, denied.Response.StatusCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The authorities of a PEM file, as InClusterConfig loads ca.crt (CertUtils.LoadPemFileCert).</summary>
    private static X509Certificate2Collection CaCertificates(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        return certificates;
    }

    [Theory]
    [InlineData("127.0.0.2")]
    [InlineData("kubernetes.default.svc")]
    [InlineData("kubernetes.default.svc.cluster.local")]
    [InlineData("10.96.0.1")]
    public async Task A_pod_reaches_the_server_at_the_advertised_address_trusting_only_kube_root_ca(string host)
    {
        // What a client in a Pod has: the address of the Endpoints (kube-proxy's job for the Service IP and
        // the DNS names), and the authority of the kube-root-ca.crt ConfigMap.
        var (_, cm) = await Http.GetJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
        using var authority = X509Certificate2.CreateFromPem(cm["data"]!["ca.crt"].Str());
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(Advertised, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            CustomTrustStore = { authority },
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://{host}:{Api.BaseAddress.Port}/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Api.AdminToken);
        var (code, version) = await http.GetJsonAsync("/version");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(Api.Options.GitVersion, version["gitVersion"].Str());
    }
}
