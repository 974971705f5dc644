using System.Globalization;
using System.Net;

namespace LocalCluster.ApiServer;

/// <summary>
/// The objects metrics-server's manifest registers (kubernetes-sigs/metrics-server
/// <c>manifests/base/apiservice.yaml</c> and <c>service.yaml</c>), pointing at a backend the local
/// cluster runs outside any Pod: the Service <c>kube-system/metrics-server</c> (port 443 named
/// <c>https</c>, no selector), Endpoints holding the backend's address and port (what the
/// endpoints controller would write for a selector), and the APIService
/// <c>v1beta1.metrics.k8s.io</c> (group priority 100, version priority 100) naming the Service.
/// Without a <c>caBundle</c> or <c>insecureSkipTLSVerify</c> the fake API server speaks plain HTTP
/// to it (see KubeApiFake's ApiRequestHandler.Aggregator.cs).
/// </summary>
internal static class MetricsServerRegistration
{
    /// <summary>The three objects, as one YAML stream for <c>FakeKubeApiServer.ApplyAsync</c>.</summary>
    public static string Yaml(IPEndPoint backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var address = backend.Address.ToString();
        var port = backend.Port.ToString(CultureInfo.InvariantCulture);
        return $$"""
            apiVersion: v1
            kind: Service
            metadata:
              name: metrics-server
              namespace: kube-system
              labels: {k8s-app: metrics-server}
            spec:
              ports:
              - name: https
                port: 443
                protocol: TCP
                targetPort: {{port}}
            ---
            apiVersion: v1
            kind: Endpoints
            metadata:
              name: metrics-server
              namespace: kube-system
              labels: {k8s-app: metrics-server}
            subsets:
            - addresses:
              - ip: "{{address}}"
              ports:
              - name: https
                port: {{port}}
                protocol: TCP
            ---
            apiVersion: apiregistration.k8s.io/v1
            kind: APIService
            metadata:
              name: v1beta1.metrics.k8s.io
              labels: {k8s-app: metrics-server}
            spec:
              group: metrics.k8s.io
              version: v1beta1
              groupPriorityMinimum: 100
              versionPriority: 100
              service:
                name: metrics-server
                namespace: kube-system
                port: 443
            """;
    }
}
