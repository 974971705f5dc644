using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// The objects the eviction, drain and binding tests play with, made over HTTP, with the status a
/// kubelet or the disruption controller would write set through the store: Nodes, running Pods of
/// a ReplicaSet, and PodDisruptionBudgets.
/// </summary>
internal static class Disruption
{
    /// <summary>apps/v1 ReplicaSets, which the fake serves only when asked to (the Pods' owner).</summary>
    public static readonly ResourceType ReplicaSets = new("apps", "v1", "replicasets", "ReplicaSet", Namespaced: true)
    {
        ShortNames = ["rs"], Categories = ["all"], HasStatusSubresource = true,
    };

    /// <summary>A cluster's API server serving ReplicaSets too, with <paramref name="graceful"/> Pod deletion.</summary>
    public static FakeKubeApiServerOptions Options(bool graceful = true, bool authorization = false) => new()
    {
        EmulateCluster = true,
        GracefulPodDeletion = graceful,
        EnableAuthorization = authorization,
        AdditionalResources = [ReplicaSets],
    };

    /// <summary>A number read as Kubernetes writes it (int64), however the JSON node holds it.</summary>
    public static long Long(JsonNode? node) => long.Parse(node!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A Ready Node with 2 CPUs and 4Gi allocatable, reachable on 127.0.0.1.</summary>
    public static async Task CreateNodeAsync(FakeKubeApiServer api, string name)
    {
        using var http = api.CreateClient();
        var (code, body) = await http.PostJsonAsync("/api/v1/nodes", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name } },
        });
        Assert.True(code == HttpStatusCode.Created, body.ToJsonString());
        var resources = new JsonObject { ["cpu"] = "2", ["memory"] = "4Gi", ["pods"] = "110" };
        api.Store.UpdateStatus(KnownResources.Nodes, null, name, n => n["status"] = new JsonObject
        {
            ["capacity"] = resources.DeepClone(),
            ["allocatable"] = resources.DeepClone(),
            ["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "Ready", ["status"] = "True", ["reason"] = "KubeletReady", ["message"] = "kubelet is posting ready status",
                ["lastHeartbeatTime"] = "2026-01-01T00:00:00Z", ["lastTransitionTime"] = "2026-01-01T00:00:00Z",
            }),
            ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" }),
        });
    }

    /// <summary>
    /// A Pod of ReplicaSet <c>web-7d4b9c</c> (labels <c>app=web</c>), bound to
    /// <paramref name="nodeName"/>, Running and Ready as its kubelet would report it.
    /// </summary>
    public static async Task<JsonObject> CreateRunningPodAsync(FakeKubeApiServer api, string name, string nodeName, long? gracePeriodSeconds = null)
    {
        using var http = api.CreateClient();
        var owner = api.Store.Get(ReplicaSets.Gvr, "default", "web-7d4b9c") ?? api.Store.Put(ReplicaSets.Gvr, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "web-7d4b9c", ["namespace"] = "default" },
            ["spec"] = new JsonObject
            {
                ["replicas"] = 3,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            },
        });
        var spec = new JsonObject
        {
            ["nodeName"] = nodeName,
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "api", ["image"] = "userapi:latest" }),
        };
        if (gracePeriodSeconds is { } grace) spec["terminationGracePeriodSeconds"] = grace;
        var (code, body) = await http.PostJsonAsync("/api/v1/namespaces/default/pods", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject { ["app"] = "web", ["pod-template-hash"] = "7d4b9c" },
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = "web-7d4b9c",
                    ["uid"] = owner["metadata"]!["uid"]!.DeepClone(), ["controller"] = true, ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = spec,
        });
        Assert.True(code == HttpStatusCode.Created, body.ToJsonString());
        return api.Store.UpdateStatus(KnownResources.Pods, "default", name, p => p["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = "2026-01-01T00:00:00Z" },
                new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = "2026-01-01T00:00:00Z" }),
            ["podIP"] = "10.244.0.9",
        })!;
    }

    /// <summary>
    /// The budget <c>web</c> over <c>app=web</c> with <c>minAvailable</c>, and the status the
    /// disruption controller would give it (observed at its generation unless told otherwise).
    /// </summary>
    public static async Task CreateBudgetAsync(FakeKubeApiServer api, int minAvailable, int healthy, int expected, long? observedGeneration = null)
    {
        using var http = api.CreateClient();
        var (code, body) = await http.PostJsonAsync("/apis/policy/v1/namespaces/default/poddisruptionbudgets", new JsonObject
        {
            ["apiVersion"] = "policy/v1",
            ["kind"] = "PodDisruptionBudget",
            ["metadata"] = new JsonObject { ["name"] = "web" },
            ["spec"] = new JsonObject
            {
                ["minAvailable"] = minAvailable,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = "web" } },
            },
        });
        Assert.True(code == HttpStatusCode.Created, body.ToJsonString());
        SetBudgetStatus(api, minAvailable, healthy, expected, observedGeneration);
    }

    /// <summary>The budget's status as the disruption controller computes it for <paramref name="healthy"/> Ready Pods.</summary>
    public static void SetBudgetStatus(FakeKubeApiServer api, int minAvailable, int healthy, int expected, long? observedGeneration = null)
    {
        api.Store.UpdateStatus(KnownResources.PodDisruptionBudgets, "default", "web", b => b["status"] = new JsonObject
        {
            ["observedGeneration"] = observedGeneration ?? Long(b["metadata"]!["generation"]),
            ["disruptionsAllowed"] = Math.Max(healthy - minAvailable, 0),
            ["currentHealthy"] = healthy,
            ["desiredHealthy"] = minAvailable,
            ["expectedPods"] = expected,
            ["conditions"] = new JsonArray(new JsonObject
            {
                ["type"] = "DisruptionAllowed", ["status"] = healthy > minAvailable ? "True" : "False",
                ["reason"] = healthy > minAvailable ? "SufficientPods" : "InsufficientPods", ["message"] = "",
                ["lastTransitionTime"] = "2026-01-01T00:00:00Z", ["observedGeneration"] = 1,
            }),
        });
    }

    /// <summary>A policy/v1 (or <paramref name="apiVersion"/>) Eviction of <paramref name="pod"/>.</summary>
    public static JsonObject Eviction(string pod, string apiVersion = "policy/v1", JsonObject? deleteOptions = null)
    {
        var eviction = new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = "Eviction",
            ["metadata"] = new JsonObject { ["name"] = pod, ["namespace"] = "default" },
        };
        if (deleteOptions is not null) eviction["deleteOptions"] = deleteOptions;
        return eviction;
    }

    public static string EvictionPath(string pod) => $"/api/v1/namespaces/default/pods/{pod}/eviction";

    /// <summary>The Pod's condition of <paramref name="type"/>, or null.</summary>
    public static JsonObject? Condition(JsonObject obj, string type) =>
        (obj["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"].Str() == type);
}
