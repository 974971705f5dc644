using System.Text.Json;
using k8s.Models;
using UserApiOperator.Controllers;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Tests.Controller;

/// <summary>What the operator keeps of a Pod and reads from it: why it is not ready, and when that changes.</summary>
public class PodReadinessTests
{
    /// <summary>A Pod as the API server serves it, with <paramref name="status"/> (JSON) as its status.</summary>
    private static V1Pod Pod(string name, string status, string instance = "alpha", string? deletionTimestamp = null)
    {
        var deleted = deletionTimestamp is null ? "" : $"\"deletionTimestamp\": \"{deletionTimestamp}\",";
        using var json = JsonDocument.Parse($$"""
            {
              "apiVersion": "v1", "kind": "Pod",
              "metadata": {
                "name": "{{name}}", "namespace": "default", "uid": "u-{{name}}", "resourceVersion": "7", {{deleted}}
                "labels": {"app.kubernetes.io/name": "user-api", "app.kubernetes.io/instance": "{{instance}}", "app.kubernetes.io/managed-by": "userapi-operator", "pod-template-hash": "5f7c9"},
                "annotations": {"note": "not kept"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "{{instance}}-5f7c9", "uid": "rs", "controller": true}]
              },
              "spec": {"containers": [{"name": "db", "image": "mysql"}, {"name": "api", "image": "userapi:latest"}], "nodeName": "n1"},
              "status": {{status}}
            }
            """);
        return PodReadiness.Decode(json.RootElement);
    }

    private const string Unschedulable = """
        {"phase": "Pending", "conditions": [
          {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]}
        """;

    private const string Running = """
        {"phase": "Running", "podIP": "10.244.0.9", "conditions": [
          {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
         "containerStatuses": [
          {"name": "db", "ready": true, "restartCount": 0, "image": "mysql", "imageID": "x", "state": {"running": {"startedAt": "2026-12-08T00:00:00Z"}}},
          {"name": "api", "ready": false, "restartCount": 0, "image": "userapi", "imageID": "y", "state": {"waiting": {"reason": "ContainerCreating"}}}]}
        """;

    private static string Waiting(string reason, string message) => $$$$"""
        {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
         "containerStatuses": [
          {"name": "db", "ready": true, "restartCount": 0, "image": "mysql", "imageID": "x", "state": {"running": {}}},
          {"name": "api", "ready": false, "restartCount": 3, "image": "userapi", "imageID": "", "state": {"waiting": {"reason": "{{{{reason}}}}", "message": "{{{{message}}}}"}}}]}
        """;

    [Fact]
    public void The_cache_keeps_the_identity_the_UserApi_label_and_only_the_reasons()
    {
        var pod = Pod("alpha-5f7c9-abcde", Waiting("ImagePullBackOff", "Back-off pulling image"));

        Assert.Equal(("alpha-5f7c9-abcde", "default", "7"), (pod.Metadata.Name, pod.Metadata.NamespaceProperty, pod.Metadata.ResourceVersion));
        Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/instance"] = "alpha" }, pod.Metadata.Labels);
        Assert.Null(pod.Metadata.Annotations);
        Assert.Null(pod.Metadata.OwnerReferences); // A Pod's owner is a ReplicaSet: nothing to find by it.
        Assert.Equal("u-alpha-5f7c9-abcde", pod.Metadata.Uid);
        Assert.Null(pod.Spec);
        Assert.Null(pod.Status.Conditions); // PodScheduled is True: nothing to keep.
        var kept = Assert.Single(pod.Status.ContainerStatuses); // db runs: not kept.
        Assert.Equal(("api", "ImagePullBackOff", "Back-off pulling image"), (kept.Name, kept.State.Waiting.Reason, kept.State.Waiting.Message));
        Assert.Null(Pod("p", Running).Status); // Scheduled, one container starting: nothing.
        Assert.Equal("default/alpha", PodReadiness.UserApiKey(pod));
    }

    [Fact]
    public void An_unscheduled_Pod_reports_the_schedulers_reason_and_message()
    {
        var why = PodReadiness.Why(Pod("alpha-5f7c9-abcde", Unschedulable));

        Assert.Equal(new NotReadyReason("Unschedulable", "Pod alpha-5f7c9-abcde cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu."), why);
    }

    [Fact]
    public void A_waiting_container_reports_its_reason_and_a_starting_or_deleted_Pod_nothing()
    {
        Assert.Equal(
            new NotReadyReason("CrashLoopBackOff", "container api of Pod p is waiting: CrashLoopBackOff: back-off 40s restarting failed container=api"),
            PodReadiness.Why(Pod("p", Waiting("CrashLoopBackOff", "back-off 40s restarting failed container=api"))));
        Assert.Null(PodReadiness.Why(Pod("p", Running)));
        Assert.Null(PodReadiness.Why(Pod("p", Unschedulable, deletionTimestamp: "2026-12-08T00:00:00Z")));
    }

    [Fact]
    public void Of_several_Pods_an_unscheduled_one_comes_first_then_the_first_by_name()
    {
        var pods = new[]
        {
            Pod("c", Waiting("ErrImagePull", "not found")),
            Pod("b", Unschedulable),
            Pod("a", Running),
            Pod("d", Unschedulable),
        };

        Assert.Equal("Pod b cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.", PodReadiness.Why(pods)!.Message);
        Assert.Equal("ErrImagePull", PodReadiness.Why(pods.Where(p => p.Metadata.Name != "b" && p.Metadata.Name != "d"))!.Reason);
        Assert.Null(PodReadiness.Why([Pod("a", Running)]));
    }

    [Fact]
    public void A_Pod_change_reconciles_its_UserApi_only_when_the_reason_changes()
    {
        var (starting, stuck, pulling, backOff) = (Pod("p", Running), Pod("p", Unschedulable), Pod("p", Waiting("ErrImagePull", "x")), Pod("p", Waiting("ImagePullBackOff", "x")));

        Assert.Null(PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Added, starting, null)));
        Assert.Null(PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Modified, starting, starting)));
        Assert.Null(PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Modified, stuck, stuck)));
        Assert.Null(PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Deleted, starting, starting)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Added, stuck, null)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Modified, starting, stuck)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Modified, pulling, starting)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Modified, backOff, pulling)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Deleted, stuck, stuck)));
        Assert.Equal("default/alpha", PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Deleted, stuck, null))); // Gone from a relist.
        Assert.Null(PodReadiness.Changed(new InformerEvent<V1Pod>(InformerEventType.Added, Pod("q", Unschedulable, instance: ""), null))); // No UserApi to name.
    }
}
