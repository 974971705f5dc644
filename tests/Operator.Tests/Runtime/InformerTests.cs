using System.Globalization;
using System.Text.Json.Nodes;
using KubeApiFake;
using k8s.Models;
using UserApiOperator.Controllers;
using UserApiOperator.DesiredState;
using UserApiOperator.Runtime.Watcher;
using UserApiOperator.Tests.Controller;

namespace UserApiOperator.Tests.Runtime;

/// <summary>
/// How the informers handle the three ends of a KubernetesClient watch, against the fake API server:
/// the server ending the stream, a dropped connection, and a 410 Expired ERROR event in the stream.
/// </summary>
public sealed class InformerTests : IAsyncLifetime
{
    private ControllerHarness _h = null!;

    public async Task InitializeAsync() => _h = await ControllerHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + ControllerHarness.Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    private static long Version(RecordedRequest watch) =>
        long.Parse(watch.QueryParameter("resourceVersion")!, CultureInfo.InvariantCulture);

    private List<RecordedRequest> ServiceWatches() =>
        _h.Api.Requests.Where(r => r.IsWatch && r.Path.EndsWith("/services", StringComparison.Ordinal)).ToList();

    /// <summary>Waits until the fake has opened a Service watch beyond the first <paramref name="before"/>, and returns it.</summary>
    private async Task<RecordedRequest> NextServiceWatchAsync(int before)
    {
        await _h.Api.WaitForAsync(() => ServiceWatches().Count > before, ControllerHarness.Timeout);
        return ServiceWatches()[before];
    }

    private void PutService(string name, bool labelled)
    {
        var metadata = new JsonObject { ["name"] = name, ["namespace"] = ControllerHarness.Ns };
        if (labelled)
        {
            metadata["labels"] = new JsonObject { [UserApiLabels.ManagedByKey] = UserApiLabels.ManagedBy };
        }

        _h.Api.Store.Put(KnownResources.Services, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 80 }) },
        });
    }

    [Fact]
    public async Task A_stream_the_server_ends_is_watched_again_from_the_last_version_without_a_list()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var (lists, watches) = (informer.ListCount, ServiceWatches().Count);
        var seen = long.Parse(informer.ResourceVersion, CultureInfo.InvariantCulture);
        // A watch that ends empty within a second is a failure (client-go's "very short watch", below);
        // this one has lasted longer.
        var age = DateTimeOffset.UtcNow - ServiceWatches()[^1].Timestamp;
        if (age < InformerOptions.VeryShortWatch)
        {
            await Task.Delay(InformerOptions.VeryShortWatch - age + TimeSpan.FromMilliseconds(50));
        }

        _h.Api.EndWatches();
        var resumed = await NextServiceWatchAsync(watches);
        // Written by nobody but this test: only the resumed watch can bring it into the cache.
        PutService("alpha", labelled: true);
        await EventuallyAsync(() => informer.Get(ControllerHarness.Ns, "alpha") is not null);

        Assert.Equal(lists, informer.ListCount);
        Assert.Equal(0, informer.FailureCount); // An empty stream the server ended is not a failure.
        Assert.True(Version(resumed) >= seen, $"resumed from {Version(resumed)}, before the {seen} already seen");
        Assert.Equal("true", resumed.QueryParameter("allowWatchBookmarks"));
    }

    [Fact]
    public async Task A_watch_that_times_out_resumes_from_the_version_of_its_last_bookmark()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var (lists, watches) = (informer.ListCount, ServiceWatches().Count);
        // A write the Service watch does not see (its label selector leaves it out) moves the
        // server's resourceVersion past the watch's; only a bookmark can tell the watch about it.
        PutService("unlabelled", labelled: false);
        var stored = _h.Api.Store.ResourceVersion;
        Assert.True(long.Parse(informer.ResourceVersion, CultureInfo.InvariantCulture) < stored);

        _h.Api.TimeOutWatches();
        var resumed = await NextServiceWatchAsync(watches);

        Assert.Equal(lists, informer.ListCount);
        Assert.Equal(0, informer.FailureCount);
        // The bookmark's version, not the list's (older) one; at least the version before the
        // timeout, so that an unrelated write in between cannot fail the test.
        Assert.True(Version(resumed) >= stored, $"resumed from {Version(resumed)}, not from the bookmark at {stored} or later");
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_after_a_backoff_without_a_list()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var (lists, watches) = (informer.ListCount, ServiceWatches().Count);

        var dropped = DateTimeOffset.UtcNow;
        _h.Api.DropWatches();
        var resumed = await NextServiceWatchAsync(watches);
        PutService("alpha", labelled: true);
        await EventuallyAsync(() => informer.Get(ControllerHarness.Ns, "alpha") is not null);

        Assert.Equal(1, informer.FailureCount);
        Assert.Equal(lists, informer.ListCount);
        // The first retry waits MinRetryDelay less at most 20 % jitter; a reconnect without backoff
        // comes within a few milliseconds.
        var waited = resumed.Timestamp - dropped;
        var least = new InformerOptions().MinRetryDelay * 0.8;
        Assert.True(waited >= least, $"reconnected {waited.TotalMilliseconds:0} ms after the drop, before the backoff of at least {least.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task An_expired_version_in_an_ERROR_event_leads_to_a_relist_that_reports_what_was_missed()
    {
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();
        var informer = _h.Cache.Get<k8s.Models.V1Ingress>();
        var lists = informer.ListCount;
        var deleted = new TaskCompletionSource();
        informer.AddHandler(e =>
        {
            if (e.Type == UserApiOperator.Runtime.Watcher.InformerEventType.Deleted)
            {
                deleted.TrySetResult();
            }
        });

        // The connection drops; meanwhile the Ingress goes and the server forgets its history, so the
        // resumed watch is answered 200 with one ERROR event carrying 410 Expired, then closed.
        _h.Api.ExpireHistory();
        _h.Api.DropWatches();
        _h.Api.Store.Delete(KnownResources.Ingresses, ControllerHarness.Ns, "alpha");
        _h.Api.ExpireHistory();

        await deleted.Task.WaitAsync(ControllerHarness.Timeout);
        Assert.True(informer.ListCount > lists);
        Assert.Null(informer.Get(ControllerHarness.Ns, "alpha"));
        Assert.Contains(_h.Api.Requests, r => r.IsWatch && r.Path.EndsWith("/ingresses", StringComparison.Ordinal) && r.StatusCode == 200);
    }

    [Fact]
    public async Task A_write_remembered_after_its_object_was_deleted_does_not_bring_it_back()
    {
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var written = informer.Get(ControllerHarness.Ns, "alpha")!; // What the operator's apply answered.

        _h.Api.Store.Delete(KnownResources.Services, ControllerHarness.Ns, "alpha");
        await _h.SettledAsync(); // The DELETED event has gone through the cache.
        informer.Remember(written); // The reconcile that wrote it puts its answer into the cache late.

        Assert.Null(informer.Get(ControllerHarness.Ns, "alpha"));
    }

    [Fact]
    public async Task An_index_follows_adds_label_changes_and_deletes_and_covers_objects_cached_before_it()
    {
        var pods = _h.Cache.Get<V1Pod>(); // Indexed by UserApi (PodReadiness.ByUserApi) by the controller's setup.
        string[] Names(string index, string value) => pods.ByIndex(index, value).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToArray();

        await _h.PutPodAsync("alpha-1", "alpha", null);
        await _h.PutPodAsync("alpha-2", "alpha", null);
        await _h.PutPodAsync("beta-1", "beta", null);
        Assert.Equal(["alpha-1", "alpha-2"], Names(PodReadiness.ByUserApi, "default/alpha"));
        Assert.Empty(Names(PodReadiness.ByUserApi, "default/gamma"));

        _h.Api.Store.Update(KnownResources.Pods, ControllerHarness.Ns, "alpha-2", p => p["metadata"]!["labels"]![UserApiLabels.InstanceKey] = "beta");
        await _h.SettledAsync();
        Assert.Equal(["alpha-1"], Names(PodReadiness.ByUserApi, "default/alpha"));
        Assert.Equal(["alpha-2", "beta-1"], Names(PodReadiness.ByUserApi, "default/beta"));

        _h.Api.Store.Delete(KnownResources.Pods, ControllerHarness.Ns, "alpha-1");
        await _h.SettledAsync();
        Assert.Empty(Names(PodReadiness.ByUserApi, "default/alpha"));

        // An index added once the cache is full covers what it holds, and then what comes.
        pods.AddIndex("first-letter", p => p.Metadata.Name![..1]);
        Assert.Equal(["alpha-2", "beta-1"], Names("first-letter", "a").Concat(Names("first-letter", "b")).ToArray());
        await _h.PutPodAsync("beta-2", "beta", null);
        Assert.Equal(["beta-1", "beta-2"], Names("first-letter", "b"));

        Assert.Throws<InvalidOperationException>(() => pods.AddIndex("first-letter", p => p.Metadata.Name));
        Assert.Throws<InvalidOperationException>(() => pods.ByIndex("no-such-index", "a"));
    }
}
