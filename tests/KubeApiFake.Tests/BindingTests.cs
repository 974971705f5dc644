using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using LocalCluster.Scheduler;

namespace KubeApiFake.Tests;

/// <summary>
/// <c>POST .../pods/{name}/binding</c> as kube-scheduler binds and kube-apiserver's BindingREST
/// answers: <c>spec.nodeName</c>, the Binding's annotations and PodScheduled=True in one write; 409
/// for a Pod already bound or being deleted, or whose UID is not the Binding's.
/// </summary>
public sealed class BindingTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => new() { EmulateCluster = true };

    private static JsonObject Binding(string pod, string node, string? uid = null)
    {
        var meta = new JsonObject { ["name"] = pod, ["namespace"] = "default", ["annotations"] = new JsonObject { ["example.com/bound-by"] = "test" } };
        if (uid is not null) meta["uid"] = uid;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Binding",
            ["metadata"] = meta,
            ["target"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["name"] = node },
        };
    }

    private async Task<JsonObject> PendingPodAsync(string name)
    {
        var (code, pod) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod(name, ["c"]));
        Assert.Equal(HttpStatusCode.Created, code);
        return pod;
    }

    [Fact]
    public async Task A_binding_assigns_the_node_and_marks_the_pod_scheduled()
    {
        var pod = await PendingPodAsync("web");

        var (code, body) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/web/binding", Binding("web", "n1", pod["metadata"]!["uid"].Str()));

        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal(("Status", "Success"), (body["kind"].Str(), body["status"].Str()));
        var (_, bound) = await Http.GetJsonAsync("/api/v1/namespaces/default/pods/web");
        Assert.Equal("n1", bound["spec"]!["nodeName"].Str());
        Assert.Equal("test", bound["metadata"]!["annotations"]!["example.com/bound-by"].Str());
        Assert.Equal("True", Disruption.Condition(bound, "PodScheduled")!["status"].Str());

        var (again, conflict) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/web/binding", Binding("web", "n2"));
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Equal("Operation cannot be fulfilled on pods/binding \"web\": pod web is already assigned to node \"n1\"", conflict["message"].Str());
    }

    [Fact]
    public async Task A_binding_for_another_pod_of_the_same_name_or_without_a_node_is_refused()
    {
        await PendingPodAsync("web");

        var (stale, conflict) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/web/binding", Binding("web", "n1", "00000000-0000-4000-8000-000000000000"));
        Assert.Equal(HttpStatusCode.Conflict, stale);
        Assert.StartsWith("Operation cannot be fulfilled on pods \"web\": Precondition failed: UID in precondition: 00000000-0000-4000-8000-000000000000", conflict["message"].Str(), StringComparison.Ordinal);

        var noNode = Binding("web", "");
        var (invalid, error) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/web/binding", noNode);
        Assert.Equal(HttpStatusCode.InternalServerError, invalid);
        Assert.Equal("target.name: Required value", error["message"].Str());

        var (mismatch, badRequest) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/web/binding", Binding("other", "n1"));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch);
        Assert.Equal("name in URL does not match name in Binding object", badRequest["message"].Str());

        var (missing, _) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods/ghost/binding", Binding("ghost", "n1"));
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "web")!["spec"]!["nodeName"]);
    }

    [Fact]
    public async Task The_schedulers_binder_binds_through_the_subresource()
    {
        var created = await PendingPodAsync("web");
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = Api.BaseAddress.ToString() });
        var pod = KubernetesJson.Deserialize<V1Pod>(created.ToJsonString());

        await new BindingSubresourceBinder(client).BindAsync(pod, "n1", CancellationToken.None);

        var request = Api.Requests.Single(r => r.Path.EndsWith("/binding", StringComparison.Ordinal));
        Assert.Equal(("POST", 201, "create"), (request.Method, request.StatusCode, request.Verb));
        Assert.Equal("n1", Api.Store.Get(KnownResources.Pods, "default", "web")!["spec"]!["nodeName"].Str());
        await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => new BindingSubresourceBinder(client).BindAsync(pod, "n2", CancellationToken.None));
    }
}
