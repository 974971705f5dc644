using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The node lifecycle controller's NoSchedule tainting (kube-controller-manager,
/// pkg/controller/nodelifecycle/node_lifecycle_controller.go, <c>doNoScheduleTaintingPass</c>, with
/// <c>nodeConditionToTaintKeyStatusMap</c> and pkg/controller/controller_utils.go,
/// <c>SwapNodeControllerTaint</c>), run with the other cluster controllers after every change of a
/// Node: a cordoned Node (<c>spec.unschedulable</c>, what <c>kubectl cordon</c> and <c>drain</c>
/// set) gets <c>node.kubernetes.io/unschedulable:NoSchedule</c>, and its conditions map to
/// NoSchedule taints: Ready False <c>not-ready</c>, Ready Unknown <c>unreachable</c>,
/// MemoryPressure, DiskPressure, PIDPressure True <c>memory-pressure</c>, <c>disk-pressure</c>,
/// <c>pid-pressure</c>, NetworkUnavailable True <c>network-unavailable</c> (all under
/// <c>node.kubernetes.io/</c>). Taints it adds carry <c>timeAdded</c>; those that no longer apply
/// are removed; every other taint is left alone. Not modelled: the NoExecute taints and the
/// evictions of <c>doNoExecuteTaintingPass</c>, and the Ready=Unknown of a node whose kubelet
/// stopped posting (<c>monitorNodeHealth</c>).
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>The taint of a cordoned Node (<c>v1.TaintNodeUnschedulable</c>).</summary>
    public const string UnschedulableTaintKey = "node.kubernetes.io/unschedulable";

    private static readonly (string Condition, string Status, string Taint)[] ConditionTaints =
    [
        ("Ready", "False", "node.kubernetes.io/not-ready"),
        ("Ready", "Unknown", "node.kubernetes.io/unreachable"),
        ("MemoryPressure", "True", "node.kubernetes.io/memory-pressure"),
        ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
        ("NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"),
        ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
    ];

    private void TaintNodeLocked(string name)
    {
        if (FindType("", "v1", "nodes") is not { } nodes || Find(nodes, null, name) is not { } so) return;
        var node = so.Object;
        if (node["metadata"]?["deletionTimestamp"] is not null) return;

        var wanted = new List<string>();
        foreach (var condition in (node["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var type = JsonUtil.Str(condition["type"]);
            var status = JsonUtil.Str(condition["status"]);
            wanted.AddRange(ConditionTaints.Where(t => t.Condition == type && t.Status == status).Select(t => t.Taint));
        }
        if (JsonUtil.IsTrue(node["spec"]?["unschedulable"])) wanted.Add(UnschedulableTaintKey);

        static bool Managed(JsonObject taint) =>
            JsonUtil.Str(taint["effect"]) == "NoSchedule"
            && (JsonUtil.Str(taint["key"]) == UnschedulableTaintKey || ConditionTaints.Any(t => t.Taint == JsonUtil.Str(taint["key"])));
        var present = (node["spec"]?["taints"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var have = present.Where(Managed).Select(t => JsonUtil.Str(t["key"])!).ToList();
        var toAdd = wanted.Where(k => !have.Contains(k)).Distinct().ToList();
        var toRemove = have.Where(k => !wanted.Contains(k)).ToList();
        if (toAdd.Count == 0 && toRemove.Count == 0) return;

        var updated = (JsonObject)node.DeepClone();
        if (updated["spec"] is not JsonObject spec)
        {
            spec = [];
            updated["spec"] = spec;
        }
        var taints = new JsonArray();
        foreach (var taint in present.Where(t => !(Managed(t) && toRemove.Contains(JsonUtil.Str(t["key"])!))))
        {
            taints.Add(taint.DeepClone());
        }
        foreach (var key in toAdd)
        {
            taints.Add(new JsonObject { ["key"] = key, ["effect"] = "NoSchedule", ["timeAdded"] = Now() });
        }
        if (taints.Count == 0) spec.Remove("taints");
        else spec["taints"] = taints;
        CommitUpdateLocked(nodes, so, updated, ControllerWrite("kube-controller-manager"), statusWrite: false, ownershipDone: false);
    }
}
