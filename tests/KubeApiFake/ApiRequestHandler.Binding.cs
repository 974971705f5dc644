using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>
/// The binding subresource: <c>POST /api/v1/namespaces/{ns}/pods/{name}/binding</c> with a core/v1
/// <c>Binding</c>, authorised as <c>create</c> on <c>pods/binding</c>, as kube-scheduler binds
/// (pkg/scheduler/framework/plugins/defaultbinder/default_binder.go) and kube-apiserver serves it
/// (pkg/registry/core/pod/storage/storage.go, <c>BindingREST.Create</c>, <c>assignPod</c>,
/// <c>setPodHostAndAnnotations</c>): the Binding must name the Pod of the URL (400) and a target
/// Node (pkg/apis/core/validation, <c>ValidatePodBinding</c>); the Binding's uid and
/// resourceVersion, when given, are preconditions on the Pod (409); in one write the Pod gets
/// <c>spec.nodeName</c>, the Binding's annotations and the condition PodScheduled=True, unless it
/// is being deleted, already bound or still has scheduling gates (409 <c>Operation cannot be
/// fulfilled on pods/binding "x": pod x is already assigned to node "n1"</c>). Answers 201 with a
/// Success Status; <c>dryRun=All</c> checks without writing.
/// </summary>
internal sealed partial class ApiRequestHandler
{
    private (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) Bind(HttpContext ctx, ResourceType pods, string ns, string name, string? body)
    {
        var binding = ParseObject(ctx, body);
        var dryRun = WriteOptionsFor(ctx).DryRun;
        if (JsonUtil.Str(binding["kind"]) is { Length: > 0 } kind && kind != "Binding")
        {
            throw StatusResponses.BadRequest($"the kind in the data ({kind}) does not match the expected kind (Binding)");
        }
        if (JsonUtil.MetaString(binding, "name") != name)
        {
            throw StatusResponses.BadRequest("name in URL does not match name in Binding object");
        }

        // ValidatePodBinding; its field.ErrorList comes back as a plain error (errs.ToAggregate()),
        // which the handler answers as a 500 without a reason.
        var target = binding["target"] as JsonObject;
        var errors = new List<string>();
        var targetKind = JsonUtil.Str(target?["kind"]) ?? "";
        if (targetKind is not ("" or "Node")) errors.Add($"target.kind: Unsupported value: \"{targetKind}\": supported values: \"Node\", \"<empty>\"");
        var nodeName = JsonUtil.Str(target?["name"]) ?? "";
        if (nodeName.Length == 0) errors.Add("target.name: Required value");
        if (errors.Count > 0)
        {
            throw new KubeApiException(500, "", errors.Count == 1 ? errors[0] : $"[{string.Join(", ", errors)}]");
        }

        var annotations = binding["metadata"]?["annotations"] as JsonObject;
        var now = JsonUtil.FormatTime(server.Options.TimeProvider.GetUtcNow());
        store.GuaranteedUpdate(pods, ns, name, JsonUtil.MetaString(binding, "uid"), JsonUtil.MetaString(binding, "resourceVersion"), pod =>
        {
            var spec = pod["spec"] as JsonObject ?? [];
            pod["spec"] = spec;
            if (pod["metadata"]?["deletionTimestamp"] is not null) throw BindingConflict(name, $"pod {name} is being deleted, cannot be assigned to a host");
            if (JsonUtil.Str(spec["nodeName"]) is { Length: > 0 } bound) throw BindingConflict(name, $"pod {name} is already assigned to node \"{bound}\"");
            if (spec["schedulingGates"] is JsonArray { Count: > 0 }) throw BindingConflict(name, $"pod {name} has non-empty .spec.schedulingGates");
            spec["nodeName"] = nodeName;
            if (annotations is { Count: > 0 })
            {
                var meta = JsonUtil.Metadata(pod);
                if (meta["annotations"] is not JsonObject existing)
                {
                    existing = [];
                    meta["annotations"] = existing;
                }
                foreach (var (key, value) in annotations) existing[key] = value?.DeepClone();
            }
            SetPodScheduled(pod, now);
            return pod;
        }, dryRun);
        return (201, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Success", ["code"] = 201 }, null);
    }

    /// <summary><c>podutil.UpdatePodCondition</c> with PodScheduled=True: the condition replaced, its transition time kept when it was True already.</summary>
    private static void SetPodScheduled(JsonObject pod, string now)
    {
        if (pod["status"] is not JsonObject status)
        {
            status = [];
            pod["status"] = status;
        }
        if (status["conditions"] is not JsonArray conditions)
        {
            conditions = [];
            status["conditions"] = conditions;
        }
        var existing = conditions.OfType<JsonObject>().FirstOrDefault(c => JsonUtil.Str(c["type"]) == "PodScheduled");
        var condition = new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "True",
            ["lastProbeTime"] = null,
            ["lastTransitionTime"] = existing is not null && JsonUtil.Str(existing["status"]) == "True" ? existing["lastTransitionTime"]?.DeepClone() : now,
        };
        if (existing is null) conditions.Add(condition);
        else conditions[conditions.IndexOf(existing)] = condition;
    }

    /// <summary><c>errors.NewConflict(api.Resource("pods/binding"), name, err)</c>.</summary>
    private static KubeApiException BindingConflict(string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on pods/binding \"{name}\": {why}", new JsonObject { ["name"] = name, ["kind"] = "pods/binding" });
}
