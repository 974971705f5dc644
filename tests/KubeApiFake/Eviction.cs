using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// What <c>POST .../pods/{name}/eviction</c> decides (see <see cref="Eviction.Decide"/>): either a
/// refusal to answer with (<see cref="Allowed"/> false: <see cref="StatusCode"/> and
/// <see cref="Body"/>), or the writes that carry the eviction out, in order: the budget's new status
/// (<see cref="UpdatedBudget"/>), the Pod's DisruptionTarget condition
/// (<see cref="PodConditions"/>), then the Pod's delete (<see cref="DeleteOptions"/>), after which
/// the answer is <see cref="StatusCode"/> 201 with <see cref="Body"/>.
/// </summary>
public sealed record EvictionOutcome
{
    /// <summary>True when the Pod is to be deleted (or, in a dry run, would be).</summary>
    public bool Allowed { get; init; }

    /// <summary>HTTP status to answer with: 201 when allowed; 400, 403, 404, 429 or 500 when refused.</summary>
    public int StatusCode { get; init; }

    /// <summary>The <c>Status</c> body to answer with.</summary>
    public required JsonObject Body { get; init; }

    /// <summary>Seconds for a <c>Retry-After</c> header (the Status' <c>details.retryAfterSeconds</c>), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>True when nothing may be written (<c>dryRun=All</c> in the query or the eviction's deleteOptions).</summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// The budget to write through its status subresource before the delete, its resourceVersion
    /// kept as a precondition (a conflict means another eviction won: decide again with the fresh
    /// budget, as the API server retries); null when no budget is written.
    /// </summary>
    public JsonObject? UpdatedBudget { get; init; }

    /// <summary>The Pod's <c>status.conditions</c> with the DisruptionTarget condition set; null in a dry run.</summary>
    public JsonArray? PodConditions { get; init; }

    /// <summary>DeleteOptions for the Pod's delete: the eviction's own, plus a resourceVersion precondition when the eviction requires one.</summary>
    public JsonObject? DeleteOptions { get; init; }

    /// <summary>
    /// The answer when the delete's resourceVersion precondition fails and the eviction added it
    /// itself (the Pod changed since it was judged): 429 "still being processed"; null when a
    /// conflict is answered as the plain 409 of the delete.
    /// </summary>
    public JsonObject? ConflictBody { get; init; }
}

/// <summary>
/// The Eviction subresource's decision, as kube-apiserver's eviction REST makes it (kubernetes
/// <c>pkg/registry/core/pod/storage/eviction.go</c>, <c>EvictionREST.Create</c>,
/// <c>checkAndDecrement</c>, <c>addConditionAndDeletePod</c>), over the store's JSON objects:
/// <list type="bullet">
/// <item>the body must be an <c>Eviction</c> naming the Pod of the URL (400); dry-run options of the
/// query and the body must agree (400); a missing Pod is a 404;</item>
/// <item>a Pod that is Succeeded, Failed, Pending or already being deleted is deleted without
/// looking at budgets;</item>
/// <item>the budgets of the Pod's namespace whose selector selects the Pod (a null selector selects
/// nothing, an empty one everything): more than one is a 500 "This pod has more than one
/// PodDisruptionBudget, which the eviction subresource does not support."; none allows;</item>
/// <item>a Pod that is not Ready is deleted without using the budget when
/// <c>unhealthyPodEvictionPolicy</c> is AlwaysAllow, or when the budget is healthy
/// (currentHealthy ≥ desiredHealthy &gt; 0) — with a resourceVersion precondition so that a Pod
/// turned Ready meanwhile is not lost;</item>
/// <item>otherwise the budget is checked and decremented in the same request: an unobserved
/// generation is a 429 with Retry-After 10 ("still being processed"); a negative
/// disruptionsAllowed or more than 2000 disruptedPods is a 403; 0 is the 429 <c>TooManyRequests</c>
/// "Cannot evict pod as it would violate the pod's disruption budget." with the cause "The
/// disruption budget NAME needs D healthy pods and has C currently"; else disruptionsAllowed drops
/// by one (DisruptionAllowed False/InsufficientPods when it reaches 0) and the Pod enters
/// disruptedPods at <c>now</c> (not in a dry run);</item>
/// <item>an allowed eviction sets the Pod's <c>DisruptionTarget</c> condition (True,
/// <c>EvictionByEvictionAPI</c>, "Eviction API: evicting") before the delete, and answers 201 with
/// a Success Status.</item>
/// </list>
/// </summary>
public static class Eviction
{
    /// <summary>Most entries a budget's disruptedPods may hold before evictions are refused (<c>MaxDisruptedPodSize</c>).</summary>
    public const int MaxDisruptedPodSize = 2000;

    /// <summary>The refusal message of a budget that allows no disruption.</summary>
    public const string ViolationMessage = "Cannot evict pod as it would violate the pod's disruption budget.";

    /// <summary>Decides an eviction.</summary>
    /// <param name="podName">The Pod named in the URL.</param>
    /// <param name="pod">The stored Pod, or null when there is none.</param>
    /// <param name="eviction">The request body (a policy/v1 or policy/v1beta1 <c>Eviction</c>).</param>
    /// <param name="budgets">The stored PodDisruptionBudgets of the Pod's namespace.</param>
    /// <param name="dryRunQuery">The request's <c>dryRun</c> query values (e.g. <c>["All"]</c>).</param>
    /// <param name="now">The time recorded in disruptedPods and conditions.</param>
    public static EvictionOutcome Decide(string podName, JsonObject? pod, JsonObject eviction, IEnumerable<JsonObject> budgets,
        IReadOnlyList<string> dryRunQuery, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(eviction);
        ArgumentNullException.ThrowIfNull(budgets);
        var kind = JsonUtil.Str(eviction["kind"]);
        if (kind is not null and not "Eviction")
        {
            return Refuse(400, "BadRequest", $"not a Eviction object: {kind}", null);
        }
        if (JsonUtil.MetaString(eviction, "name") != podName)
        {
            return Refuse(400, "BadRequest", "name in URL does not match name in Eviction object", null);
        }
        var deleteOptions = (eviction["deleteOptions"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject();
        var bodyDryRun = Strings(deleteOptions["dryRun"]);
        if (bodyDryRun.Count == 0 && dryRunQuery.Count > 0)
        {
            deleteOptions["dryRun"] = new JsonArray([.. dryRunQuery.Select(v => (JsonNode)v)]);
        }
        else if (bodyDryRun.Count > 0 && dryRunQuery.Count > 0 && !bodyDryRun.SequenceEqual(dryRunQuery))
        {
            return Refuse(400, "BadRequest",
                $"Non-matching dry-run options in request and content: [{string.Join(' ', dryRunQuery)}] and [{string.Join(' ', bodyDryRun)}]", null);
        }
        var dryRun = Strings(deleteOptions["dryRun"]).Contains("All");
        if (pod is null)
        {
            return Refuse(404, "NotFound", $"pods \"{podName}\" not found", new JsonObject { ["name"] = podName, ["kind"] = "pods" });
        }

        var rvUnset = (deleteOptions["preconditions"] as JsonObject)?["resourceVersion"] is null;
        var podRv = JsonUtil.MetaString(pod, "resourceVersion");
        if (CanIgnoreBudgets(pod))
        {
            var options = deleteOptions;
            if (ShouldEnforceResourceVersion(pod) && rvUnset) options = WithResourceVersion(deleteOptions, podRv);
            return Allow(pod, options, dryRun, null, null, now);
        }

        var namespaceName = JsonUtil.MetaString(pod, "namespace");
        var labels = JsonUtil.Labels(pod);
        var matching = budgets.Where(b => JsonUtil.MetaString(b, "namespace") == namespaceName && Selects(b, labels)).ToList();
        if (matching.Count > 1)
        {
            var body = new JsonObject
            {
                ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
                ["message"] = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ["code"] = 500,
            };
            return new EvictionOutcome { StatusCode = 500, Body = body, DryRun = dryRun };
        }
        if (matching.Count == 0) return Allow(pod, deleteOptions, dryRun, null, null, now);

        var pdb = matching[0];
        var pdbName = JsonUtil.MetaString(pdb, "name") ?? "";
        var status = pdb["status"] as JsonObject ?? new JsonObject();
        if (!IsReady(pod))
        {
            var alwaysAllow = JsonUtil.Str((pdb["spec"] as JsonObject)?["unhealthyPodEvictionPolicy"]) == "AlwaysAllow";
            var healthy = Long(status["currentHealthy"]);
            var desired = Long(status["desiredHealthy"]);
            if (alwaysAllow || (healthy >= desired && desired > 0))
            {
                var conflict = rvUnset ? StillProcessing(pdbName).Body : null;
                return Allow(pod, WithResourceVersion(deleteOptions, podRv), dryRun, null, conflict, now);
            }
        }

        var refusal = CheckBudget(pdb, pdbName, status);
        if (refusal is not null) return refusal with { DryRun = dryRun };
        var updated = pdb.DeepClone().AsObject();
        var newStatus = updated["status"] as JsonObject ?? new JsonObject();
        updated["status"] = newStatus;
        var allowed = Long(newStatus["disruptionsAllowed"]) - 1;
        newStatus["disruptionsAllowed"] = allowed;
        if (allowed == 0) SetInsufficientPods(newStatus, now);
        if (dryRun) return Allow(pod, deleteOptions, dryRun, null, null, now);
        var disrupted = newStatus["disruptedPods"] as JsonObject ?? new JsonObject();
        newStatus["disruptedPods"] = disrupted;
        disrupted[JsonUtil.MetaString(pod, "name")!] = JsonUtil.FormatTime(now);
        return Allow(pod, deleteOptions, dryRun, updated, null, now);
    }

    /// <summary><c>checkAndDecrement</c>'s refusals, or null when the budget allows one more disruption.</summary>
    private static EvictionOutcome? CheckBudget(JsonObject pdb, string pdbName, JsonObject status)
    {
        var generation = Long((pdb["metadata"] as JsonObject)?["generation"]);
        if (Long(status["observedGeneration"]) < generation) return StillProcessing(pdbName);
        var allowed = Long(status["disruptionsAllowed"]);
        if (allowed < 0) return Forbidden(pdbName, "pdb disruptions allowed is negative");
        if ((status["disruptedPods"] as JsonObject)?.Count > MaxDisruptedPodSize)
        {
            return Forbidden(pdbName, "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
        }
        if (allowed == 0)
        {
            var cause = string.Create(CultureInfo.InvariantCulture,
                $"The disruption budget {pdbName} needs {Long(status["desiredHealthy"])} healthy pods and has {Long(status["currentHealthy"])} currently");
            return TooManyRequests(cause, 0);
        }
        return null;
    }

    private static EvictionOutcome Allow(JsonObject pod, JsonObject deleteOptions, bool dryRun, JsonObject? budget, JsonObject? conflict, DateTimeOffset now) => new()
    {
        Allowed = true,
        StatusCode = 201,
        Body = new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["code"] = 201 },
        DryRun = dryRun,
        UpdatedBudget = budget,
        PodConditions = dryRun ? null : DisruptionTarget(pod, now),
        DeleteOptions = deleteOptions,
        ConflictBody = conflict,
    };

    /// <summary>
    /// <c>podutil.UpdatePodCondition</c> with DisruptionTarget=True (reason EvictionByEvictionAPI):
    /// the Pod's <c>status.conditions</c> with it set; the transition time moves only when the status changes.
    /// </summary>
    internal static JsonArray DisruptionTarget(JsonObject pod, DateTimeOffset now)
    {
        var conditions = ((pod["status"] as JsonObject)?["conditions"] as JsonArray)?.DeepClone().AsArray() ?? [];
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => JsonUtil.Str(c["type"]) == "DisruptionTarget");
        var condition = new JsonObject
        {
            ["type"] = "DisruptionTarget",
            ["status"] = "True",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = existing is not null && JsonUtil.Str(existing["status"]) == "True"
                ? existing["lastTransitionTime"]?.DeepClone()
                : JsonUtil.FormatTime(now),
            ["reason"] = "EvictionByEvictionAPI",
            ["message"] = "Eviction API: evicting",
        };
        if (existing is null) conditions.Add(condition);
        else conditions[conditions.IndexOf(existing)] = condition;
        return conditions;
    }

    private static void SetInsufficientPods(JsonObject status, DateTimeOffset now)
    {
        var conditions = status["conditions"] as JsonArray ?? [];
        status["conditions"] = conditions;
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => JsonUtil.Str(c["type"]) == "DisruptionAllowed");
        if (existing is null)
        {
            conditions.Add(new JsonObject
            {
                ["type"] = "DisruptionAllowed", ["status"] = "False", ["observedGeneration"] = Long(status["observedGeneration"]),
                ["lastTransitionTime"] = JsonUtil.FormatTime(now), ["reason"] = "InsufficientPods", ["message"] = "",
            });
            return;
        }
        if (JsonUtil.Str(existing["status"]) != "False") existing["lastTransitionTime"] = JsonUtil.FormatTime(now);
        existing["status"] = "False";
        existing["reason"] = "InsufficientPods";
        existing["message"] = "";
        existing["observedGeneration"] = Long(status["observedGeneration"]);
    }

    private static EvictionOutcome StillProcessing(string pdbName) => TooManyRequests($"The disruption budget {pdbName} is still being processed by the server.", 10);

    private static EvictionOutcome TooManyRequests(string cause, int retryAfter)
    {
        var details = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "DisruptionBudget", ["message"] = cause }) };
        if (retryAfter > 0) details["retryAfterSeconds"] = retryAfter;
        return new EvictionOutcome
        {
            StatusCode = 429,
            Body = StatusResponses.Failure(429, "TooManyRequests", ViolationMessage, details),
            RetryAfterSeconds = retryAfter > 0 ? retryAfter : null,
        };
    }

    private static EvictionOutcome Forbidden(string pdbName, string why) => Refuse(403, "Forbidden",
        $"poddisruptionbudget.policy \"{pdbName}\" is forbidden: {why}",
        new JsonObject { ["name"] = pdbName, ["group"] = "policy", ["kind"] = "poddisruptionbudget" });

    private static EvictionOutcome Refuse(int code, string reason, string message, JsonObject? details) =>
        new() { StatusCode = code, Body = StatusResponses.Failure(code, reason, message, details) };

    /// <summary><c>canIgnorePDB</c>: the Pod is finished, not started, or already being deleted.</summary>
    private static bool CanIgnoreBudgets(JsonObject pod) =>
        Phase(pod) is "Succeeded" or "Failed" or "Pending" || (pod["metadata"] as JsonObject)?["deletionTimestamp"] is not null;

    /// <summary><c>shouldEnforceResourceVersion</c>: only for a Pod neither finished nor being deleted.</summary>
    private static bool ShouldEnforceResourceVersion(JsonObject pod) =>
        Phase(pod) is not ("Succeeded" or "Failed") && (pod["metadata"] as JsonObject)?["deletionTimestamp"] is null;

    private static string? Phase(JsonObject pod) => JsonUtil.Str((pod["status"] as JsonObject)?["phase"]);

    private static bool IsReady(JsonObject pod) =>
        ((pod["status"] as JsonObject)?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Any(c => JsonUtil.Str(c["type"]) == "Ready" && JsonUtil.Str(c["status"]) == "True") == true;

    /// <summary>policy/v1 selection: a null selector selects nothing; an invalid one does not select the Pod.</summary>
    private static bool Selects(JsonObject pdb, IReadOnlyDictionary<string, string> labels)
    {
        if ((pdb["spec"] as JsonObject)?["selector"] is not JsonObject selector) return false;
        try
        {
            return LabelSelector.FromObject(selector).Matches(labels);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static JsonObject WithResourceVersion(JsonObject options, string? resourceVersion)
    {
        var copy = options.DeepClone().AsObject();
        var preconditions = copy["preconditions"] as JsonObject ?? new JsonObject();
        copy["preconditions"] = preconditions;
        preconditions["resourceVersion"] = resourceVersion;
        return copy;
    }

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray a ? [.. a.Select(JsonUtil.Str).OfType<string>()] : [];

    private static long Long(JsonNode? node) => JsonUtil.TryGetLong(node) ?? 0;
}
