using KubeApiFake;
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

    [Fact]
    public async Task A_stream_the_server_ends_is_watched_again_from_the_last_version_without_a_list()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var (lists, watches) = (informer.ListCount, informer.WatchCount);

        _h.Api.EndWatches();
        await EventuallyAsync(() => informer.WatchCount > watches);
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();

        Assert.Equal(lists, informer.ListCount);
        Assert.Equal(0, informer.FailureCount); // An empty stream the server ended is not a failure.
        var resumed = _h.Api.Requests.Last(r => r.IsWatch && r.Path.EndsWith("/services", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(resumed.QueryParameter("resourceVersion")));
        Assert.Equal("true", resumed.QueryParameter("allowWatchBookmarks"));
        Assert.NotNull(informer.Get(ControllerHarness.Ns, "alpha"));
    }

    [Fact]
    public async Task A_watch_that_times_out_resumes_from_the_version_of_its_last_bookmark()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Service>();
        var (lists, watches) = (informer.ListCount, informer.WatchCount);
        // A write the Service watch does not see moves the server's resourceVersion past the watch's.
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();
        var stored = _h.Api.Store.ResourceVersion;

        _h.Api.TimeOutWatches();
        await EventuallyAsync(() => informer.WatchCount > watches);

        Assert.Equal(lists, informer.ListCount);
        Assert.Equal(0, informer.FailureCount);
        var resumed = _h.Api.Requests.Last(r => r.IsWatch && r.Path.EndsWith("/services", StringComparison.Ordinal));
        // The bookmark's version, not the Service's own (older) one; at least the version before the
        // timeout, so that an unrelated write in between cannot fail the test.
        Assert.True(long.Parse(resumed.QueryParameter("resourceVersion")!, System.Globalization.CultureInfo.InvariantCulture) >= stored);
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_after_a_backoff_without_a_list()
    {
        var informer = _h.Cache.Get<k8s.Models.V1Deployment>();
        var (lists, watches) = (informer.ListCount, informer.WatchCount);

        _h.Api.DropWatches();
        await EventuallyAsync(() => informer.WatchCount > watches);
        Assert.Equal(1, informer.FailureCount);
        await _h.CreateAsync("alpha");
        await _h.ReconcileAsync();
        await _h.SettledAsync();

        Assert.Equal(lists, informer.ListCount);
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
}
