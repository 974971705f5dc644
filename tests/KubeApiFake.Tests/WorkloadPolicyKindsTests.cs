using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// autoscaling/v2 HorizontalPodAutoscalers, policy/v1 PodDisruptionBudgets and networking.k8s.io/v1
/// NetworkPolicies are served as kube-apiserver serves them: discovery with short names and status
/// subresources, defaulting, validation, and garbage collection with their owner.
/// </summary>
public sealed class WorkloadPolicyKindsTests : FakeServerTest
{
    private const string Hpas = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    private const string Pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    private const string NetPols = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies";

    private static JsonObject Hpa(string name, string extra = "") => KubeHttp.Parse($$$"""
        {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"{{{name}}}"},
         "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"{{{name}}}"},"maxReplicas":5{{{extra}}}}}
        """);

    [Fact]
    public async Task Discovery_lists_the_three_kinds_with_short_names_and_status_where_the_real_server_has_it()
    {
        var (_, autoscaling) = await Http.GetJsonAsync("/apis/autoscaling/v2");
        var (_, policy) = await Http.GetJsonAsync("/apis/policy/v1");
        var (_, networking) = await Http.GetJsonAsync("/apis/networking.k8s.io/v1");
        static JsonNode Entry(JsonObject list, string name) => list["resources"]!.AsArray().Single(r => r!["name"].Str() == name)!;

        Assert.Equal(("HorizontalPodAutoscaler", "hpa", "all"), (Entry(autoscaling, "horizontalpodautoscalers")["kind"].Str(), Entry(autoscaling, "horizontalpodautoscalers")["shortNames"]![0].Str(), Entry(autoscaling, "horizontalpodautoscalers")["categories"]![0].Str()));
        Assert.Equal(("PodDisruptionBudget", "pdb"), (Entry(policy, "poddisruptionbudgets")["kind"].Str(), Entry(policy, "poddisruptionbudgets")["shortNames"]![0].Str()));
        Assert.Equal(("NetworkPolicy", "netpol"), (Entry(networking, "networkpolicies")["kind"].Str(), Entry(networking, "networkpolicies")["shortNames"]![0].Str()));
        Assert.Contains(autoscaling["resources"]!.AsArray(), r => r!["name"].Str() == "horizontalpodautoscalers/status");
        Assert.Contains(policy["resources"]!.AsArray(), r => r!["name"].Str() == "poddisruptionbudgets/status");
        Assert.DoesNotContain(networking["resources"]!.AsArray(), r => r!["name"].Str() == "networkpolicies/status");
        Assert.True(Entry(networking, "networkpolicies")["namespaced"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_HorizontalPodAutoscaler_gets_minReplicas_1_and_a_CPU_target_by_default_and_bad_bounds_are_422()
    {
        var (code, hpa) = await Http.PostJsonAsync(Hpas, Hpa("web"));

        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(1, (int)hpa["spec"]!["minReplicas"]!);
        var metric = hpa["spec"]!["metrics"]![0]!["resource"]!;
        Assert.Equal(("cpu", "Utilization", 80), (metric["name"].Str(), metric["target"]!["type"].Str(), (int)metric["target"]!["averageUtilization"]!));

        var (bad, status) = await Http.PostJsonAsync(Hpas, Hpa("bad", ",\"minReplicas\":6"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad);
        Assert.Contains("must be greater than or equal to `minReplicas`", status["message"].Str(), StringComparison.Ordinal);
        var (zero, _) = await Http.PostJsonAsync(Hpas, Hpa("zero", ",\"minReplicas\":0"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, zero);
    }

    [Fact]
    public async Task A_PodDisruptionBudget_takes_minAvailable_or_maxUnavailable_but_not_both()
    {
        var (code, _) = await Http.PostJsonAsync(Pdbs, KubeHttp.Parse("""{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web"},"spec":{"maxUnavailable":"25%","selector":{"matchLabels":{"app":"web"}}}}"""));
        Assert.Equal(HttpStatusCode.Created, code);

        var (bad, status) = await Http.PostJsonAsync(Pdbs, KubeHttp.Parse("""{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"both"},"spec":{"maxUnavailable":1,"minAvailable":1}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad);
        Assert.Contains("minAvailable and maxUnavailable cannot be both set", status["message"].Str(), StringComparison.Ordinal);

        // The status subresource: a write to the main endpoint leaves status alone.
        var (statusCode, _) = await Http.MergePatchAsync($"{Pdbs}/web/status", KubeHttp.Parse("""{"status":{"disruptionsAllowed":1,"currentHealthy":3,"desiredHealthy":2,"expectedPods":3}}"""));
        Assert.Equal(HttpStatusCode.OK, statusCode);
        var (_, patched) = await Http.MergePatchAsync($"{Pdbs}/web", KubeHttp.Parse("""{"status":{"disruptionsAllowed":9}}"""));
        Assert.Equal(1, (int)patched["status"]!["disruptionsAllowed"]!);
    }

    [Fact]
    public async Task A_NetworkPolicy_gets_its_policy_types_and_port_protocols_by_default()
    {
        var (code, policy) = await Http.PostJsonAsync(NetPols, KubeHttp.Parse("""
            {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web"},
             "spec":{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":"http"}]}]}}
            """));

        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(["Ingress"], policy["spec"]!["policyTypes"]!.AsArray().Select(t => t.Str()));
        Assert.Equal("TCP", policy["spec"]!["ingress"]![0]!["ports"]![0]!["protocol"].Str());
    }

    [Fact]
    public async Task The_three_kinds_go_with_their_owner()
    {
        var (_, owner) = await Http.PostJsonAsync("/api/v1/namespaces/default/configmaps", KubeHttp.ConfigMap("owner"));
        JsonObject Owned(JsonObject obj)
        {
            obj["metadata"]!["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["name"] = "owner", ["uid"] = owner["metadata"]!["uid"]!.DeepClone(), ["controller"] = true,
            });
            return obj;
        }

        await Http.PostJsonAsync(Hpas, Owned(Hpa("web")));
        await Http.PostJsonAsync(Pdbs, Owned(KubeHttp.Parse("""{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web"},"spec":{"maxUnavailable":1}}""")));
        await Http.PostJsonAsync(NetPols, Owned(KubeHttp.Parse("""{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web"},"spec":{"podSelector":{}}}""")));
        Assert.NotNull(Api.Store.Get(KnownResources.NetworkPolicies, "default", "web"));

        await Http.DeleteJsonAsync("/api/v1/namespaces/default/configmaps/owner");

        Assert.Null(Api.Store.Get(KnownResources.HorizontalPodAutoscalers, "default", "web"));
        Assert.Null(Api.Store.Get(KnownResources.PodDisruptionBudgets, "default", "web"));
        Assert.Null(Api.Store.Get(KnownResources.NetworkPolicies, "default", "web"));
    }

    [Fact]
    public async Task Kubectl_get_prints_the_columns_of_the_real_printers()
    {
        await Http.PostJsonAsync(Hpas, Hpa("web", ",\"minReplicas\":2"));
        await Http.PostJsonAsync(Pdbs, KubeHttp.Parse("""{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web"},"spec":{"maxUnavailable":"25%"}}"""));
        await Http.PostJsonAsync(NetPols, KubeHttp.Parse("""{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web"},"spec":{"podSelector":{"matchLabels":{"app":"web"}}}}"""));

        async Task<(string[] Columns, JsonArray Cells)> TableAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("application/json;as=Table;v=v1;g=meta.k8s.io");
            using var response = await Http.SendAsync(request);
            var table = KubeHttp.Parse(await response.Content.ReadAsStringAsync());
            return (table["columnDefinitions"]!.AsArray().Select(c => c!["name"].Str()!).ToArray(), table["rows"]![0]!["cells"]!.AsArray());
        }

        var (hpaColumns, hpa) = await TableAsync(Hpas);
        Assert.Equal(["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"], hpaColumns);
        Assert.Equal(["web", "Deployment/web", "cpu: <unknown>/80%", "2", "5", "0"], hpa.Take(6).Select(c => c!.ToString()));
        var (pdbColumns, pdb) = await TableAsync(Pdbs);
        Assert.Equal(["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"], pdbColumns);
        Assert.Equal(["web", "N/A", "25%", "0"], pdb.Take(4).Select(c => c!.ToString()));
        var (netpolColumns, netpol) = await TableAsync(NetPols);
        Assert.Equal(["Name", "Pod-Selector", "Age"], netpolColumns);
        Assert.Equal(["web", "app=web"], netpol.Take(2).Select(c => c!.ToString()));
    }
}
