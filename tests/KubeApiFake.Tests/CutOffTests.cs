using System.Net;

namespace KubeApiFake.Tests;

/// <summary>
/// Per-client network faults: one client (a leader, say) loses the API server while others keep it,
/// the way a partition or a dead proxy looks from the client: resets or silence, never a Status.
/// </summary>
public sealed class CutOffTests : FakeServerTest
{
    private const string ConfigMaps = "/api/v1/namespaces/default/configmaps";
    private const string Leader = "system:serviceaccount:default:leader";

    protected override FakeKubeApiServerOptions CreateOptions() => new() { EnableAuthorization = true };

    [Fact]
    public async Task A_cut_off_user_gets_connection_resets_while_others_are_served()
    {
        using var leader = Api.CreateClient(Api.IssueServiceAccountToken("default", "leader"));
        Assert.Equal(HttpStatusCode.OK, (await leader.GetAsync(new Uri("/version", UriKind.Relative))).StatusCode);

        var cut = Api.Faults.CutOff(Leader);
        await Assert.ThrowsAsync<HttpRequestException>(() => leader.GetAsync(new Uri("/version", UriKind.Relative)));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(ConfigMaps, UriKind.Relative))).StatusCode);
        var refused = Api.Requests.Last(r => r.User?.Name == Leader);
        Assert.Equal(0, refused.StatusCode);

        cut.Dispose();
        Assert.Equal(HttpStatusCode.OK, (await leader.GetAsync(new Uri("/version", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_hung_request_gets_no_answer_until_the_cut_off_ends_then_a_reset()
    {
        using var leader = Api.CreateClient(Api.IssueServiceAccountToken("default", "leader"));
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cut = Api.Faults.CutOff(r => r.User?.Name == Leader && held.TrySetResult() | true, CutOffMode.Hang);
        var pending = leader.GetAsync(new Uri("/version", UriKind.Relative));

        // The server holds the request; a request of another user, sent after it, is answered first.
        await held.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri("/version", UriKind.Relative))).StatusCode);
        Assert.False(pending.IsCompleted);

        cut.Dispose();
        await Assert.ThrowsAsync<HttpRequestException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HttpStatusCode.OK, (await leader.GetAsync(new Uri("/version", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Open_watches_of_a_cut_off_user_break_and_others_keep_streaming()
    {
        using var leader = Api.CreateClient(Api.IssueServiceAccountToken("default", "leader"));
        await Http.PostJsonAsync("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", KubeHttp.Parse("""
            {"metadata":{"name":"leader-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
             "subjects":[{"kind":"ServiceAccount","name":"leader","namespace":"default"}]}
            """));
        var from = Api.Store.ResourceVersion;
        await using var leaderWatch = await WatchStream.OpenAsync(leader, $"{ConfigMaps}?watch=true&resourceVersion={from}");
        await using var otherWatch = await WatchStream.OpenAsync(Http, $"{ConfigMaps}?watch=true&resourceVersion={from}");
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 2, TimeSpan.FromSeconds(5));

        using var cut = Api.Faults.CutOff(Leader);
        Exception? error = null;
        try
        {
            while (await leaderWatch.NextOrEndAsync() is not null)
            {
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            error = e;
        }

        Assert.NotNull(error);
        await Api.WaitForAsync(() => Api.ActiveWatchCount == 1, TimeSpan.FromSeconds(5));
        await Http.PostJsonAsync(ConfigMaps, KubeHttp.ConfigMap("after"));
        Assert.Equal("after", (await otherWatch.NextAsync())["object"]!["metadata"]!["name"].Str());
        Assert.Empty(Api.ServerErrors);
    }
}
