using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// autoscaling/v2 HorizontalPodAutoscalers as kubectl shows them: the API server's defaults for a
/// given <c>behavior</c> (<c>kubectl get hpa -o yaml</c>) and the Targets column as printers.go
/// formats it (<c>cpu: 12%/50%</c>, metrics beyond two as <c>+ N more...</c>).
/// </summary>
public sealed class KubectlAutoscalerTests : FakeServerTest
{
    private const string Manifest = """
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web, namespace: default}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
          minReplicas: 2
          maxReplicas: 6
          metrics:
          - type: Resource
            resource:
              name: cpu
              target: {type: Utilization, averageUtilization: 50}
          behavior:
            scaleDown:
              stabilizationWindowSeconds: 60
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: plain, namespace: default}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: plain}
          maxReplicas: 3
        """;

    [Fact]
    public async Task A_given_behavior_gets_every_rule_the_api_server_defaults()
    {
        await Api.ApplyAsync(Manifest);
        using var kubectl = new Kubectl(Api);

        var behavior = KubeHttp.Parse(await kubectl.OkAsync("get", "hpa", "web", "-o", "jsonpath={.spec.behavior}"));

        Assert.True(JsonNode.DeepEquals(KubeHttp.Parse("""
            {"scaleDown":{"policies":[{"periodSeconds":15,"type":"Percent","value":100}],"selectPolicy":"Max","stabilizationWindowSeconds":60},
             "scaleUp":{"policies":[{"periodSeconds":15,"type":"Pods","value":4},{"periodSeconds":15,"type":"Percent","value":100}],
                        "selectPolicy":"Max","stabilizationWindowSeconds":0}}
            """), behavior), behavior.ToJsonString());
        var yaml = await kubectl.OkAsync("get", "hpa", "plain", "-o", "yaml");
        Assert.DoesNotContain("behavior", yaml, StringComparison.Ordinal);
        Assert.Contains("averageUtilization: 80", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_hpa_prints_the_targets_as_the_real_server_does()
    {
        await Api.ApplyAsync(Manifest);
        using var kubectl = new Kubectl(Api);
        Assert.Matches(@"\nweb\s+Deployment/web\s+cpu: <unknown>/50%\s+2\s+6\s+0\s", await kubectl.OkAsync("get", "hpa"));

        // What the HPA controller reports once it has metrics.
        Api.Store.UpdateStatus(KnownResources.HorizontalPodAutoscalers, "default", "web", h => h["status"] = KubeHttp.Parse("""
            {"currentReplicas":3,"desiredReplicas":3,
             "currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":12,"averageValue":"6m"}}}]}
            """));
        Assert.Matches(@"\nweb\s+Deployment/web\s+cpu: 12%/50%\s+2\s+6\s+3\s", await kubectl.OkAsync("get", "hpa"));

        Api.Store.Update(KnownResources.HorizontalPodAutoscalers, "default", "web", h => ((JsonArray)h["spec"]!["metrics"]!).Add(KubeHttp.Parse("""
            {"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"200Mi"}}}
            """)));
        Assert.Matches(@"\nweb\s+Deployment/web\s+cpu: 12%/50%, memory: <unknown>/200Mi\s+2\s", await kubectl.OkAsync("get", "hpa"));
        Api.Store.Update(KnownResources.HorizontalPodAutoscalers, "default", "web", h => ((JsonArray)h["spec"]!["metrics"]!).Add(KubeHttp.Parse("""
            {"type":"Pods","pods":{"metric":{"name":"requests_per_second"},"target":{"type":"AverageValue","averageValue":"10"}}}
            """)));
        Assert.Matches(@"\nweb\s+Deployment/web\s+cpu: 12%/50%, memory: <unknown>/200Mi \+ 1 more\.\.\.\s+2\s", await kubectl.OkAsync("get", "hpa"));
    }
}
