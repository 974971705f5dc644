using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// Pod deletion with a grace period, as kube-apiserver's generic store and the Pod strategy do it:
/// a Pod bound to a node stays, being deleted, until deleted again with grace period 0 (what its
/// kubelet does once the containers are stopped); a shorter grace period moves the deadline; an
/// unbound Pod goes at once.
/// </summary>
public sealed class GracefulPodDeletionTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => Disruption.Options();

    [Fact]
    public async Task A_bound_pod_stays_until_its_kubelet_deletes_it_with_no_grace_period()
    {
        var pod = await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        var generation = Disruption.Long(pod["metadata"]!["generation"]);

        var (code, answer) = await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("Pod", answer["kind"].Str());
        Assert.Equal(30, Disruption.Long(answer["metadata"]!["deletionGracePeriodSeconds"]));
        Assert.Equal(generation + 1, Disruption.Long(answer["metadata"]!["generation"]));
        var due = DateTimeOffset.Parse(answer["metadata"]!["deletionTimestamp"].Str()!, System.Globalization.CultureInfo.InvariantCulture);

        // Deleting again changes nothing; a shorter grace period brings the deadline forward.
        var rv = Api.Store.ResourceVersion;
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a")).Code);
        Assert.Equal(rv, Api.Store.ResourceVersion);
        var (_, shortened) = await Http.SendAsync(HttpMethod.Delete, "/api/v1/namespaces/default/pods/web-a", """{"gracePeriodSeconds":10}""");
        Assert.Equal(10, Disruption.Long(shortened["metadata"]!["deletionGracePeriodSeconds"]));
        Assert.Equal(due.AddSeconds(-20), DateTimeOffset.Parse(shortened["metadata"]!["deletionTimestamp"].Str()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotNull(Api.Store.Get(KnownResources.Pods, "default", "web-a"));

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a?gracePeriodSeconds=0")).Code);
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "web-a"));
    }

    [Fact]
    public async Task An_unbound_pod_goes_at_once()
    {
        var (created, _) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("pending", ["c"]));
        Assert.Equal(HttpStatusCode.Created, created);

        var (code, answer) = await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/pending");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(0, Disruption.Long(answer["metadata"]!["deletionGracePeriodSeconds"]));
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "pending"));
    }

    [Fact]
    public async Task Removing_the_last_finalizer_deletes_a_pod_only_once_its_grace_period_is_zero()
    {
        await Disruption.CreateRunningPodAsync(Api, "web-a", "n1");
        await Http.MergePatchAsync("/api/v1/namespaces/default/pods/web-a", KubeHttp.Parse("""{"metadata":{"finalizers":["example.com/hold"]}}"""));
        await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a");

        await Http.MergePatchAsync("/api/v1/namespaces/default/pods/web-a", KubeHttp.Parse("""{"metadata":{"finalizers":null}}"""));
        Assert.NotNull(Api.Store.Get(KnownResources.Pods, "default", "web-a"));

        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web-a?gracePeriodSeconds=0")).Code);
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "web-a"));
    }
}

/// <summary>
/// Without <see cref="FakeKubeApiServerOptions.GracefulPodDeletion"/>: the deletion metadata is
/// the same, but a Pod goes as soon as it has no finalizers, as the local cluster's kubelet (which
/// holds its Pods with a finalizer of its own) expects.
/// </summary>
public sealed class PodDeletionWithoutGraceTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => Disruption.Options(graceful: false);

    [Fact]
    public async Task A_pod_goes_once_it_has_no_finalizers()
    {
        await Disruption.CreateRunningPodAsync(Api, "free", "n1");
        var (code, answer) = await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/free");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(30, Disruption.Long(answer["metadata"]!["deletionGracePeriodSeconds"]));
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "free"));

        await Disruption.CreateRunningPodAsync(Api, "held", "n1");
        await Http.MergePatchAsync("/api/v1/namespaces/default/pods/held", KubeHttp.Parse("""{"metadata":{"finalizers":["example.com/hold"]}}"""));
        await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/held");
        var held = Api.Store.Get(KnownResources.Pods, "default", "held")!;
        Assert.Equal(30, Disruption.Long(held["metadata"]!["deletionGracePeriodSeconds"]));

        await Http.MergePatchAsync("/api/v1/namespaces/default/pods/held", new JsonObject { ["metadata"] = new JsonObject { ["finalizers"] = null } });
        Assert.Null(Api.Store.Get(KnownResources.Pods, "default", "held"));
    }
}
