using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>
/// The Eviction API: <c>POST /api/v1/namespaces/{ns}/pods/{name}/eviction</c> with a policy/v1 (or
/// policy/v1beta1) <c>Eviction</c>, authorised as <c>create</c> on <c>pods/eviction</c>, as
/// pkg/registry/core/pod/storage/eviction.go (<c>EvictionREST.Create</c>) serves it around
/// <see cref="Eviction.Decide"/>: a refusal is answered with its status (429 with
/// <c>Retry-After</c> when the Status carries <c>retryAfterSeconds</c>); an allowed eviction writes
/// the budget's status (its resourceVersion as precondition, deciding again with the fresh budget
/// on a conflict, up to <c>EvictionsRetry</c>'s 20 steps), sets the Pod's DisruptionTarget
/// condition on the latest Pod (<c>addConditionAndDeletePod</c>), deletes the Pod with the
/// eviction's DeleteOptions (its grace period, so the kubelet's termination runs) and answers 201
/// with a Success Status.
/// </summary>
internal sealed partial class ApiRequestHandler
{
    /// <summary><c>EvictionsRetry</c>: how many times a conflict is retried (wait.Backoff Steps).</summary>
    private const int EvictionRetrySteps = 20;

    private (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) Evict(HttpContext ctx, ResourceType pods, string ns, string name, string? body)
    {
        var eviction = ParseObject(ctx, body);
        var dryRunQuery = WriteOptionsFor(ctx).DryRun ? ctx.Request.Query["dryRun"].Select(v => v ?? "").ToList() : [];
        var budgets = store.Resolve("policy", "v1", "poddisruptionbudgets") ?? throw StatusResponses.ResourceNotFound();
        var userPrecondition = JsonUtil.Str(eviction["deleteOptions"]?["preconditions"]?["resourceVersion"]) is { Length: > 0 };
        for (var attempt = 1; ; attempt++)
        {
            var now = server.Options.TimeProvider.GetUtcNow();
            var pod = store.Get(pods.Gvr, ns, name);
            var outcome = Eviction.Decide(name, pod, eviction, store.List(budgets.Gvr, ns), dryRunQuery, now);
            if (!outcome.Allowed) return Answer(outcome.StatusCode, outcome.Body);

            string? budgetName = null;
            if (outcome.UpdatedBudget is { } budget)
            {
                budgetName = JsonUtil.MetaString(budget, "name")!;
                try
                {
                    // checkAndDecrement: UpdateStatus of the budget as it was read, so a concurrent eviction conflicts.
                    store.Replace(budgets, ns, budgetName, budget, new WriteOptions { Manager = "kube-apiserver", ExplicitManager = true }, statusWrite: true);
                }
                catch (KubeApiException e) when (e.Code == 409)
                {
                    if (attempt < EvictionRetrySteps) continue;
                    throw new KubeApiException(504, "Timeout", $"couldn't update PodDisruptionBudget \"{budgetName}\" due to conflicts",
                        new JsonObject { ["retryAfterSeconds"] = 10 });
                }
            }

            try
            {
                DeleteEvictedPod(pods, ns, name, outcome, now);
            }
            catch (KubeApiException e) when (e.Code == 409)
            {
                // The Pod changed since it was judged. A resourceVersion precondition the eviction added
                // itself: "still being processed" (429), or, when no budget was involved, judge it again.
                if (outcome.ConflictBody is { } busy) return Answer(429, busy);
                if (budgetName is null && !userPrecondition && attempt < EvictionRetrySteps) continue;
                throw;
            }
            return (outcome.StatusCode, outcome.Body, null);
        }
    }

    /// <summary>
    /// <c>addConditionAndDeletePod</c>: the DisruptionTarget condition on the latest Pod (whose
    /// UID and resourceVersion must still meet the delete's preconditions), then the delete, whose
    /// resourceVersion precondition, if any, moves to the version that write made.
    /// </summary>
    private void DeleteEvictedPod(ResourceType pods, string ns, string name, EvictionOutcome outcome, DateTimeOffset now)
    {
        var options = DeleteOptionsFrom(QueryCollection.Empty, outcome.DeleteOptions);
        if (!outcome.DryRun)
        {
            var updated = store.GuaranteedUpdate(pods, ns, name, null, null, latest =>
            {
                if (options.PreconditionUid is { Length: > 0 } uid && uid != JsonUtil.MetaString(latest, "uid"))
                {
                    throw PodConflict(name, $"the UID in the precondition ({uid}) does not match the UID in record ({JsonUtil.MetaString(latest, "uid")}). The object might have been deleted and then recreated");
                }
                if (options.PreconditionResourceVersion is { Length: > 0 } rv && rv != JsonUtil.MetaString(latest, "resourceVersion"))
                {
                    throw PodConflict(name, $"the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({JsonUtil.MetaString(latest, "resourceVersion")}). The object might have been modified");
                }
                if (latest["status"] is not JsonObject status)
                {
                    status = new JsonObject();
                    latest["status"] = status;
                }
                status["conditions"] = Eviction.DisruptionTarget(latest, now);
                return latest;
            }, dryRun: false);
            if (options.PreconditionResourceVersion is { Length: > 0 })
            {
                options = options with { PreconditionResourceVersion = JsonUtil.MetaString(updated, "resourceVersion") };
            }
        }
        store.Delete(pods, ns, name, options);
    }

    /// <summary>A conflict on the Pod as <c>errors.NewConflict(schema.GroupResource{Resource: "Pod"}, name, err)</c> words it.</summary>
    private static KubeApiException PodConflict(string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on Pod \"{name}\": {why}", new JsonObject { ["name"] = name, ["kind"] = "Pod" });

    /// <summary>A refusal's Status (its <c>retryAfterSeconds</c> becomes the Retry-After header as it is written).</summary>
    private static (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) Answer(int code, JsonObject body) => (code, body, null);
}
