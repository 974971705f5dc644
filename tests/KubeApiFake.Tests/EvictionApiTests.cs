using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// <c>POST .../pods/{name}/eviction</c> over real HTTP, as kube-apiserver answers it: the budget
/// checked and decremented, 429 while it allows no disruption, the DisruptionTarget condition, and
/// the Pod deleted gracefully (it stays, being deleted, until deleted again with grace period 0, as
/// its kubelet would once the containers are stopped).
/// </summary>
public sealed class EvictionApiTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => Disruption.Options();

    [Fact]
    public async Task Discovery_lists_eviction_and_binding_as_kubectl_drain_looks_for_them()
    {
        var (_, core) = await Http.GetJsonAsync("/api/v1");
        var names = core["resources"]!.AsArray().Select(r => r!["name"].Str()).ToList();
        var pods = names.IndexOf("pods");
        Assert.Equal(["pods", "pods/attach", "pods/binding", "pods/eviction", "pods/exec", "pods/log", "pods/status"], names.Skip(pods).Take(7));
        var eviction = core["resources"]!.AsArray().Single(r => r!["name"].Str() == "pods/eviction")!;
        Assert.Equal(("policy", "v1", "Eviction"), (eviction["group"].Str(), eviction["version"].Str(), eviction["kind"].Str()));
        Assert.Equal(["create"], eviction["verbs"]!.AsArray().Select(v => v.Str()));
        var binding = core["resources"]!.AsArray().Single(r => r!["name"].Str() == "pods/binding")!;
        Assert.Equal("Binding", binding["kind"].Str());
    }

    [Fact]
    public async Task An_eviction_without_a_budget_marks_the_pod_and_deletes_it_with_its_grace_period()
    {
        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1", gracePeriodSeconds: 45);
        var before = DateTimeOffset.UtcNow;

        var (code, body) = await Http.PostJsonAsync(Disruption.EvictionPath("web-a"), Disruption.Eviction("web-a"));

        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(("Status", "Success", 201), (body["kind"].Str(), body["status"].Str(), body["code"]!.GetValue<int>()));
        var (_, pod) = await Http.GetJsonAsync("/api/v1/namespaces/default/pods/web-a");
        Assert.Equal(45, Disruption.Long(pod["metadata"]!["deletionGracePeriodSeconds"]));
        var due = DateTimeOffset.Parse(pod["metadata"]!["deletionTimestamp"].Str()!, CultureInfo.InvariantCulture);
        Assert.InRange(due, before.AddSeconds(44), DateTimeOffset.UtcNow.AddSeconds(46));
        var target = Disruption.Condition(pod, "DisruptionTarget")!;
        Assert.Equal(("True", "EvictionByEvictionAPI", "Eviction API: evicting"), (target["status"].Str(), target["reason"].Str(), target["message"].Str()));

        // The kubelet, its containers stopped, deletes the Pod for good.
        var (deleted, _) = await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a?gracePeriodSeconds=0");
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetJsonAsync("/api/v1/namespaces/default/pods/web-a")).Code);
    }

    [Fact]
    public async Task Evictions_are_refused_with_429_once_the_budget_allows_no_more()
    {
        foreach (var name in new[] { "web-a", "web-b", "web-c" }) await Disruption.CreateRunningPodAsync(Api, name, "n1");
        await Disruption.CreateBudgetAsync(Api, minAvailable: 2, healthy: 3, expected: 3);

        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync(Disruption.EvictionPath("web-a"), Disruption.Eviction("web-a"))).Code);
        var (_, budget) = await Http.GetJsonAsync("/apis/policy/v1/namespaces/default/poddisruptionbudgets/web");
        Assert.Equal(0, Disruption.Long(budget["status"]!["disruptionsAllowed"]));
        Assert.NotNull(budget["status"]!["disruptedPods"]!["web-a"]);
        Assert.Equal(("False", "InsufficientPods"), (Disruption.Condition(budget, "DisruptionAllowed")!["status"].Str(), Disruption.Condition(budget, "DisruptionAllowed")!["reason"].Str()));

        using var request = new HttpRequestMessage(HttpMethod.Post, Disruption.EvictionPath("web-b"))
        {
            Content = new StringContent(Disruption.Eviction("web-b").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var refused = await Http.SendAsync(request);
        var status = KubeHttp.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        KubeHttp.AssertStatus(status, 429, "TooManyRequests");
        Assert.Equal("Cannot evict pod as it would violate the pod's disruption budget.", status["message"].Str());
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal(("DisruptionBudget", "The disruption budget web needs 2 healthy pods and has 3 currently"), (cause["reason"].Str(), cause["message"].Str()));
        Assert.False(refused.Headers.Contains("Retry-After"));

        var (_, untouched) = await Http.GetJsonAsync("/api/v1/namespaces/default/pods/web-b");
        Assert.Null(untouched["metadata"]!["deletionTimestamp"]);
        Assert.Null(Disruption.Condition(untouched, "DisruptionTarget"));
    }

    [Fact]
    public async Task A_budget_its_controller_has_not_observed_asks_to_come_back_in_10_seconds()
    {
        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        await Disruption.CreateBudgetAsync(Api, minAvailable: 0, healthy: 1, expected: 1, observedGeneration: 0);

        using var request = new HttpRequestMessage(HttpMethod.Post, Disruption.EvictionPath("web-a"))
        {
            Content = new StringContent(Disruption.Eviction("web-a").ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var refused = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("10", refused.Headers.GetValues("Retry-After").Single());
        var status = KubeHttp.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("The disruption budget web is still being processed by the server.", status["details"]!["causes"]![0]!["message"].Str());
    }

    [Fact]
    public async Task Concurrent_evictions_take_exactly_what_the_budget_allows()
    {
        var names = Enumerable.Range(0, 6).Select(i => $"web-{i}").ToList();
        foreach (var name in names) await Disruption.CreateRunningPodAsync(Api, name, "n1");
        await Disruption.CreateBudgetAsync(Api, minAvailable: 4, healthy: 6, expected: 6);

        var answers = await Task.WhenAll(names.Select(n => Http.PostJsonAsync(Disruption.EvictionPath(n), Disruption.Eviction(n))));

        Assert.Equal(2, answers.Count(a => a.Code == HttpStatusCode.Created));
        Assert.Equal(4, answers.Count(a => a.Code == HttpStatusCode.TooManyRequests));
        var budget = Api.Store.Get(KnownResources.PodDisruptionBudgets, "default", "web")!;
        Assert.Equal(0, Disruption.Long(budget["status"]!["disruptionsAllowed"]));
        var disrupted = budget["status"]!["disruptedPods"]!.AsObject().Select(p => p.Key).Order().ToList();
        var deleting = names.Where(n => Api.Store.Get(KnownResources.Pods, "default", n)!["metadata"]!["deletionTimestamp"] is not null).ToList();
        Assert.Equal(deleting, disrupted);
        Assert.Empty(Api.ServerErrors);
    }

    [Fact]
    public async Task A_missing_pod_is_404_and_a_dry_run_changes_nothing()
    {
        var (missing, notFound) = await Http.PostJsonAsync(Disruption.EvictionPath("ghost"), Disruption.Eviction("ghost"));
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("pods \"ghost\" not found", notFound["message"].Str());

        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        await Disruption.CreateBudgetAsync(Api, minAvailable: 0, healthy: 1, expected: 1);
        var rv = Api.Store.ResourceVersion;
        var (code, _) = await Http.PostJsonAsync(Disruption.EvictionPath("web-a") + "?dryRun=All", Disruption.Eviction("web-a"));
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(rv, Api.Store.ResourceVersion);

        var (mismatch, body) = await Http.PostJsonAsync(Disruption.EvictionPath("web-a"), Disruption.Eviction("web-b"));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch);
        Assert.Equal("name in URL does not match name in Eviction object", body["message"].Str());
    }

    [Fact]
    public async Task A_policy_v1beta1_eviction_with_its_own_grace_period_is_served_too()
    {
        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        var eviction = Disruption.Eviction("web-a", "policy/v1beta1", new JsonObject { ["gracePeriodSeconds"] = 5 });

        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync(Disruption.EvictionPath("web-a"), eviction)).Code);

        var pod = Api.Store.Get(KnownResources.Pods, "default", "web-a")!;
        Assert.Equal(5, Disruption.Long(pod["metadata"]!["deletionGracePeriodSeconds"]));
    }

    [Fact]
    public async Task A_pending_pod_is_deleted_at_once_without_looking_at_the_budget()
    {
        await Disruption.CreateBudgetAsync(Api, minAvailable: 1, healthy: 0, expected: 1);
        var (created, _) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "web-pending", ["labels"] = new JsonObject { ["app"] = "web" } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "api", ["image"] = "userapi" }) },
        });
        Assert.Equal(HttpStatusCode.Created, created);

        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync(Disruption.EvictionPath("web-pending"), Disruption.Eviction("web-pending"))).Code);

        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "web-pending"));
    }
}
