using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

public sealed class WatchTests : FakeServerTest
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";

    protected override FakeKubeApiServerOptions CreateOptions() => new() { BookmarkInterval = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task Watch_from_a_resourceVersion_replays_later_events_then_streams_live_ones()
    {
        var (_, a) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("a"));
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("b"));
        await Http.MergePatchAsync($"{ConfigMaps}/a", KubeHttp.Parse("""{"data":{"k":"changed"}}"""));

        await using var watch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion={a.Rv()}");
        var e1 = await watch.NextAsync();
        Assert.Equal("ADDED", e1["type"].Str());
        Assert.Equal("b", e1["object"]!["metadata"]!["name"].Str());
        Assert.Equal("ConfigMap", e1["object"]!["kind"].Str());
        var e2 = await watch.NextAsync();
        Assert.Equal("MODIFIED", e2["type"].Str());
        Assert.Equal("changed", e2["object"]!["data"]!["k"].Str());

        await Http.DeleteJsonAsync($"{ConfigMaps}/b");
        var e3 = await watch.NextAsync();
        Assert.Equal("DELETED", e3["type"].Str());
        Assert.Equal("b", e3["object"]!["metadata"]!["name"].Str());
        Assert.Equal(Api.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture), e3["object"]!.AsObject().Rv());
        Assert.Equal(1, Api.ActiveWatchCount);
    }

    [Fact]
    public async Task Watch_from_zero_starts_with_synthetic_ADDED_and_selectors_filter()
    {
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("one", labels: new JsonObject { ["app"] = "x" }));
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("two", labels: new JsonObject { ["app"] = "y" }));

        await using var watch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=1&resourceVersion=0&labelSelector=app%3Dx");
        var first = await watch.NextAsync();
        Assert.Equal("ADDED", first["type"].Str());
        Assert.Equal("one", first["object"]!["metadata"]!["name"].Str());

        // An object that stops matching is seen as DELETED, one that starts matching as ADDED.
        await Http.MergePatchAsync($"{ConfigMaps}/one", KubeHttp.Parse("""{"metadata":{"labels":{"app":"z"}}}"""));
        await Http.MergePatchAsync($"{ConfigMaps}/two", KubeHttp.Parse("""{"metadata":{"labels":{"app":"x"}}}"""));
        var gone = await watch.NextAsync();
        Assert.Equal(("DELETED", "one"), (gone["type"].Str(), gone["object"]!["metadata"]!["name"].Str()));
        var came = await watch.NextAsync();
        Assert.Equal(("ADDED", "two"), (came["type"].Str(), came["object"]!["metadata"]!["name"].Str()));
    }

    [Fact]
    public async Task Watch_with_an_expired_resourceVersion_gets_a_410_ERROR_event_then_the_stream_ends()
    {
        var (_, a) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("a"));
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("b"));
        Api.ExpireHistory();

        await using var watch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion={a.Rv()}");
        var error = await watch.NextAsync();
        Assert.Equal("ERROR", error["type"].Str());
        var status = error["object"]!.AsObject();
        KubeHttp.AssertStatus(status, 410, "Expired");
        Assert.Equal($"too old resource version: {a.Rv()} ({Api.Store.ResourceVersion})", status["message"].Str());
        Assert.Null(await watch.NextOrEndAsync());

        // The current resourceVersion still works.
        await using var fresh = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion={Api.Store.ResourceVersion}");
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("c"));
        Assert.Equal("ADDED", (await fresh.NextAsync())["type"].Str());
    }

    [Fact]
    public async Task History_window_is_bounded()
    {
        await using var api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions { HistoryLimit = 2, SeedDefaultNamespaces = false });
        using var http = api.CreateClient();
        for (var i = 0; i < 4; i++) await http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap($"cm{i}"));

        await using var old = await WatchStream.OpenAsync(http, $"{ConfigMaps}?watch=true&resourceVersion=1");
        Assert.Equal("ERROR", (await old.NextAsync())["type"].Str());
        await using var recent = await WatchStream.OpenAsync(http, $"{ConfigMaps}?watch=true&resourceVersion=2");
        Assert.Equal("cm2", (await recent.NextAsync())["object"]!["metadata"]!["name"].Str());
    }

    [Fact]
    public async Task DropWatches_breaks_the_stream_and_removes_the_watcher()
    {
        await using var watch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true");
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 1, TimeSpan.FromSeconds(5));

        Api.DropWatches();

        // An aborted connection surfaces as an exception while reading, never as a clean end of stream.
        Exception? error = null;
        try
        {
            while (await watch.NextOrEndAsync() is not null)
            {
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            error = e;
        }
        Assert.NotNull(error);
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 0, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task TimeoutSeconds_ends_the_stream_cleanly_and_bookmarks_carry_the_resourceVersion()
    {
        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("a"));
        await using var watch = await WatchStream.OpenAsync(Http,
            $"{ConfigMaps}?watch=true&resourceVersion={created.Rv()}&allowWatchBookmarks=true&timeoutSeconds=3");

        // A write elsewhere moves the global resourceVersion; the next bookmark after it reports it
        // (one sent while the write was on its way carries the version before).
        var (_, secret) = await Http.PostJsonAsync("/api/v1/namespaces/default/secrets", KubeHttp.Parse("""{"metadata":{"name":"s"}}"""));
        JsonObject bookmark;
        do
        {
            bookmark = await watch.NextAsync();
            Assert.Equal("BOOKMARK", bookmark["type"].Str());
        }
        while (long.Parse(bookmark["object"]!.AsObject().Rv()!, CultureInfo.InvariantCulture) < long.Parse(secret.Rv()!, CultureInfo.InvariantCulture));

        Assert.Equal(secret.Rv(), bookmark["object"]!.AsObject().Rv());
        Assert.Equal("ConfigMap", bookmark["object"]!["kind"].Str());
        Assert.Null(bookmark["object"]!["metadata"]!["name"]);

        JsonObject? line;
        while ((line = await watch.NextOrEndAsync(TimeSpan.FromSeconds(5))) is not null)
        {
            Assert.Equal("BOOKMARK", line["type"].Str());
        }
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 0, TimeSpan.FromSeconds(5));
    }

    [Theory]
    // Every 200 ms, but the last one 2 s before the deadline: none after 1 s of a 3 s watch.
    [InlineData(0, 3, 0.2)]
    [InlineData(0.9, 3, 1.0)]
    [InlineData(1.0, 3, 1.0)]
    [InlineData(1.1, 3, null)]
    // A watch of less than 2 s gets no bookmark at all (the deadline bookmark's time has passed).
    [InlineData(0, 1.9, null)]
    [InlineData(0, 1, null)]
    public void Bookmarks_come_every_interval_and_last_2_s_before_the_deadline(double nowSeconds, double timeoutSeconds, double? expectedSeconds)
    {
        var opened = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var next = ApiRequestHandler.NextBookmarkTime(
            opened.AddSeconds(nowSeconds), TimeSpan.FromMilliseconds(200), opened.AddSeconds(timeoutSeconds));
        Assert.Equal(expectedSeconds is { } s ? opened.AddSeconds(s) : null, next);
        // Without a deadline, simply every interval.
        Assert.Equal(opened.AddSeconds(nowSeconds) + TimeSpan.FromMilliseconds(200),
            ApiRequestHandler.NextBookmarkTime(opened.AddSeconds(nowSeconds), TimeSpan.FromMilliseconds(200), null));
    }

    [Fact]
    public async Task A_watch_of_less_than_2_s_ends_without_a_bookmark()
    {
        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("a"));
        await using var watch = await WatchStream.OpenAsync(Http,
            $"{ConfigMaps}?watch=true&resourceVersion={created.Rv()}&allowWatchBookmarks=true&timeoutSeconds=1");

        Assert.Null(await watch.NextOrEndAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task TimeOutWatches_sends_a_last_bookmark_to_watches_that_allow_them_then_ends_every_stream()
    {
        var (_, created) = await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("a"));
        await using var withBookmarks = await WatchStream.OpenAsync(Http,
            $"{ConfigMaps}?watch=true&resourceVersion={created.Rv()}&allowWatchBookmarks=true&timeoutSeconds=600");
        await using var without = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion={created.Rv()}&timeoutSeconds=600");
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 2, TimeSpan.FromSeconds(5));
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("b"));
        await Http.PostJsonAsync("/api/v1/namespaces/default/secrets", KubeHttp.Parse("""{"metadata":{"name":"s"}}"""));

        Api.TimeOutWatches();

        // Events first, then the bookmark at the latest resourceVersion (the Secret's, which this watch does not see).
        Assert.Equal("ADDED", (await withBookmarks.NextAsync())["type"].Str());
        var bookmark = await withBookmarks.NextAsync();
        Assert.Equal("BOOKMARK", bookmark["type"].Str());
        Assert.Equal(Api.Store.ResourceVersion.ToString(CultureInfo.InvariantCulture), bookmark["object"]!.AsObject().Rv());
        Assert.Null(await withBookmarks.NextOrEndAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("ADDED", (await without.NextAsync())["type"].Str());
        Assert.Null(await without.NextOrEndAsync(TimeSpan.FromSeconds(5)));
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 0, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Many_reconnects_leave_no_watchers_behind()
    {
        for (var i = 0; i < 30; i++)
        {
            await using var watch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion=0");
        }
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(30, Api.Requests.Count(r => r.IsWatch && r.Verb == "watch"));
        Assert.Equal(HttpStatusCode.OK, (HttpStatusCode)Api.Requests.Last(r => r.IsWatch).StatusCode);
    }
}
