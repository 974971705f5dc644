using k8s.Models;

namespace LocalCluster.Objects;

/// <summary>Pod facts the controllers share, as kubernetes <c>pkg/api/v1/pod/util.go</c> defines them.</summary>
internal static class Pods
{
    /// <summary>The Pod's condition of <paramref name="type"/>, or null.</summary>
    public static V1PodCondition? Condition(V1Pod pod, string type) =>
        pod.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary><c>IsPodReady</c>: the Ready condition is True.</summary>
    public static bool IsReady(V1Pod pod) => Condition(pod, "Ready")?.Status == "True";

    /// <summary><c>IsPodPhaseTerminal</c>: Succeeded or Failed.</summary>
    public static bool IsTerminal(V1Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    /// <summary>The owner reference with <c>controller: true</c> (<c>metav1.GetControllerOf</c>), or null.</summary>
    public static V1OwnerReference? ControllerOf(V1ObjectMeta meta) =>
        meta.OwnerReferences?.FirstOrDefault(r => r.Controller == true);

    /// <summary><c>namespace/name</c> of an object.</summary>
    public static string Key(V1ObjectMeta meta) => $"{meta.NamespaceProperty}/{meta.Name}";
}
