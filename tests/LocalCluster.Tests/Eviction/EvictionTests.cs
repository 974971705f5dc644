using System.Text.Json.Nodes;
using KubeApiFake;
using LocalCluster.Tests.Support;

namespace LocalCluster.Tests.Eviction;

/// <summary>
/// KubeApiFake.Eviction.Decide over objects as the fake stores them, after the cases of kubernetes
/// pkg/registry/core/pod/storage/eviction_test.go (TestEviction, TestEvictionIgnorePDB,
/// TestEvictionDryRun, TestEvictionPDBStatus).
/// </summary>
public class EvictionTests : FakeCluster
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private JsonObject StorePod(string name, string phase = "Running", bool ready = true, string ns = "default") =>
        Api.Store.Put(PodsGvr, Json("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME","namespace":"NS","labels":{"app":"web"}},
             "spec":{"containers":[{"name":"api","image":"userapi:latest"}]},
             "status":{"phase":"PHASE","conditions":[{"type":"Ready","status":"READY"}]}}
            """, ("NAME", name), ("NS", ns), ("PHASE", phase), ("READY", ready ? "True" : "False")));

    private JsonObject StoreBudget(string name, int allowed, int current = 3, int desired = 2, long observedGeneration = 1, string extraSpec = "", string ns = "default") =>
        Api.Store.Put(KnownResources.PodDisruptionBudgets, Json("""
            {"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"NAME","namespace":"NS"},
             "spec":{"maxUnavailable":1,"selector":{"matchLabels":{"app":"web"}}EXTRA},
             "status":{"disruptionsAllowed":ALLOWED,"currentHealthy":CURRENT,"desiredHealthy":DESIRED,"expectedPods":3,
                       "observedGeneration":OBSERVED,
                       "conditions":[{"type":"DisruptionAllowed","status":"True","reason":"SufficientPods","message":"","observedGeneration":1,"lastTransitionTime":"2026-12-01T11:00:00Z"}]}}
            """, ("NAME", name), ("NS", ns), ("EXTRA", extraSpec), ("ALLOWED", $"{allowed}"), ("CURRENT", $"{current}"), ("DESIRED", $"{desired}"), ("OBSERVED", $"{observedGeneration}")));

    private static JsonObject Request(string name, string? deleteOptions = null) =>
        Json("""{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"NAME","namespace":"default"}OPTIONS}""",
            ("NAME", name), ("OPTIONS", deleteOptions is null ? "" : $",\"deleteOptions\":{deleteOptions}"));

    private static long Number(JsonNode? node) => long.Parse(node!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    private static string Text(JsonNode node) =>
        node.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static JsonObject Json(string template, params (string Key, string Value)[] values) =>
        JsonNode.Parse(values.Aggregate(template, (t, v) => t.Replace(v.Key, v.Value, StringComparison.Ordinal)))!.AsObject();

    private EvictionOutcome Decide(string name, string? deleteOptions = null, params string[] dryRun) =>
        KubeApiFake.Eviction.Decide(name, Api.Store.Get(PodsGvr, "default", name), Request(name, deleteOptions),
            Api.Store.List(KnownResources.PodDisruptionBudgets, "default"), dryRun, Now);

    [Fact]
    public void ABudgetThatAllowsADisruptionIsDecrementedInTheSameRequest()
    {
        StorePod("web-0");
        StoreBudget("web", allowed: 1);
        var outcome = Decide("web-0");
        Assert.True(outcome.Allowed);
        Assert.Equal(201, outcome.StatusCode);
        Assert.Equal("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201}""", Text(outcome.Body));
        var status = outcome.UpdatedBudget!["status"]!;
        Assert.Equal(0, Number(status["disruptionsAllowed"]));
        Assert.Equal("2026-12-01T12:00:00Z", (string?)status["disruptedPods"]!["web-0"]);
        var condition = status["conditions"]![0]!;
        Assert.Equal(("False", "InsufficientPods", "2026-12-01T12:00:00Z"), ((string?)condition["status"], (string?)condition["reason"], (string?)condition["lastTransitionTime"]));
        var target = outcome.PodConditions!.Single(c => (string?)c!["type"] == "DisruptionTarget")!;
        Assert.Equal(("True", "EvictionByEvictionAPI", "Eviction API: evicting"), ((string?)target["status"], (string?)target["reason"], (string?)target["message"]));
        Assert.Null(outcome.DeleteOptions!["preconditions"]);

        // The next eviction reads the written budget and is refused.
        Api.Store.Put(KnownResources.PodDisruptionBudgets, outcome.UpdatedBudget);
        StorePod("web-1");
        Assert.Equal(429, Decide("web-1").StatusCode);
    }

    [Fact]
    public void ABudgetThatAllowsNoDisruptionRefusesWith429()
    {
        StorePod("web-0");
        StoreBudget("web", allowed: 0, current: 2, desired: 2);
        var outcome = Decide("web-0");
        Assert.False(outcome.Allowed);
        Assert.Equal(429, outcome.StatusCode);
        Assert.Null(outcome.RetryAfterSeconds);
        Assert.Equal(
            """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Cannot evict pod as it would violate the pod's disruption budget.","reason":"TooManyRequests","details":{"causes":[{"reason":"DisruptionBudget","message":"The disruption budget web needs 2 healthy pods and has 2 currently"}]},"code":429}""",
            Text(outcome.Body));
        Assert.Null(outcome.UpdatedBudget);
        Assert.Null(outcome.PodConditions);
    }

    [Fact]
    public void ABudgetTheControllerHasNotObservedYetAsksToRetryIn10Seconds()
    {
        StorePod("web-0");
        var pdb = StoreBudget("web", allowed: 1, observedGeneration: 0);
        Assert.Equal(1, Number(pdb["metadata"]!["generation"]));
        var outcome = Decide("web-0");
        Assert.Equal((429, 10), (outcome.StatusCode, outcome.RetryAfterSeconds));
        Assert.Equal("The disruption budget web is still being processed by the server.", (string?)outcome.Body["details"]!["causes"]![0]!["message"]);
        Assert.Equal(10, Number(outcome.Body["details"]!["retryAfterSeconds"]));
    }

    [Fact]
    public void TwoBudgetsOverOnePodAreA500()
    {
        StorePod("web-0");
        StoreBudget("a", allowed: 1);
        StoreBudget("b", allowed: 1);
        var outcome = Decide("web-0");
        Assert.Equal(500, outcome.StatusCode);
        Assert.Equal("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.","code":500}""",
            Text(outcome.Body));
    }

    [Fact]
    public void ANegativeDisruptionsAllowedIsForbidden()
    {
        StorePod("web-0");
        StoreBudget("web", allowed: -1);
        var outcome = Decide("web-0");
        Assert.Equal(403, outcome.StatusCode);
        Assert.Equal("poddisruptionbudget.policy \"web\" is forbidden: pdb disruptions allowed is negative", (string?)outcome.Body["message"]);
        Assert.Equal("Forbidden", (string?)outcome.Body["reason"]);
    }

    [Theory]
    // TestEvictionIgnorePDB: a Pending, Succeeded or Failed Pod goes without a look at the budget.
    [InlineData("Pending", true)]
    [InlineData("Succeeded", false)]
    [InlineData("Failed", false)]
    public void PodsNotRunningIgnoreTheBudget(string phase, bool resourceVersionEnforced)
    {
        var pod = StorePod("web-0", phase: phase);
        StoreBudget("web", allowed: 0);
        var outcome = Decide("web-0");
        Assert.True(outcome.Allowed);
        Assert.Null(outcome.UpdatedBudget);
        Assert.Equal(resourceVersionEnforced ? (string?)pod["metadata"]!["resourceVersion"] : null,
            (string?)outcome.DeleteOptions!["preconditions"]?["resourceVersion"]);
    }

    [Fact]
    public void AnUnreadyPodOfAHealthyBudgetGoesWithoutUsingTheBudget()
    {
        var pod = StorePod("web-0", ready: false);
        StoreBudget("web", allowed: 0, current: 2, desired: 2);
        var outcome = Decide("web-0");
        Assert.True(outcome.Allowed);
        Assert.Null(outcome.UpdatedBudget);
        Assert.Equal((string?)pod["metadata"]!["resourceVersion"], (string?)outcome.DeleteOptions!["preconditions"]!["resourceVersion"]);
        // Should the Pod turn Ready before the delete, the precondition fails and the answer is a 429.
        Assert.Equal(429, Number(outcome.ConflictBody!["code"]));
    }

    [Fact]
    public void AnUnreadyPodOfAnUnhealthyBudgetNeedsADisruptionLikeAnyOther()
    {
        StorePod("web-0", ready: false);
        StoreBudget("web", allowed: 0, current: 1, desired: 2);
        Assert.Equal(429, Decide("web-0").StatusCode);
        StoreBudget("web", allowed: 0, current: 1, desired: 2, extraSpec: ",\"unhealthyPodEvictionPolicy\":\"AlwaysAllow\"");
        Assert.True(Decide("web-0").Allowed);
    }

    [Fact]
    public void ADryRunDecidesButWritesNothing()
    {
        StorePod("web-0");
        StoreBudget("web", allowed: 1);
        var outcome = Decide("web-0", null, "All");
        Assert.True(outcome.Allowed);
        Assert.True(outcome.DryRun);
        Assert.Null(outcome.UpdatedBudget);
        Assert.Null(outcome.PodConditions);
        Assert.Equal("All", (string?)outcome.DeleteOptions!["dryRun"]![0]);
        Assert.True(Decide("web-0", """{"dryRun":["All"]}""").DryRun);
    }

    [Fact]
    public void BadRequestsAndMissingPods()
    {
        StorePod("web-0");
        var mismatch = KubeApiFake.Eviction.Decide("web-0", Api.Store.Get(PodsGvr, "default", "web-0"), Request("other"), [], [], Now);
        Assert.Equal((400, "name in URL does not match name in Eviction object"), (mismatch.StatusCode, (string?)mismatch.Body["message"]));
        var dryRuns = Decide("web-0", """{"dryRun":["All"]}""", "Other");
        Assert.Equal((400, "Non-matching dry-run options in request and content: [Other] and [All]"), (dryRuns.StatusCode, (string?)dryRuns.Body["message"]));
        var missing = Decide("nope");
        Assert.Equal((404, "pods \"nope\" not found", "NotFound"), (missing.StatusCode, (string?)missing.Body["message"], (string?)missing.Body["reason"]));
    }

    [Fact]
    public void OnlyBudgetsOfThePodsNamespaceThatSelectItCount()
    {
        StorePod("web-0");
        StoreBudget("elsewhere", allowed: 0, ns: "other");
        Api.Store.Put(KnownResources.PodDisruptionBudgets, JsonNode.Parse("""
            {"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"no-selector","namespace":"default"},"spec":{"minAvailable":5},
             "status":{"disruptionsAllowed":0}}
            """)!.AsObject());
        Assert.True(KubeApiFake.Eviction.Decide("web-0", Api.Store.Get(PodsGvr, "default", "web-0"), Request("web-0"),
            Api.Store.List(KnownResources.PodDisruptionBudgets), [], Now).Allowed);
    }
}
