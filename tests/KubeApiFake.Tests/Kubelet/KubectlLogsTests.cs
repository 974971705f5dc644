using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// <c>kubectl logs</c> as users run it, through the fake API server (pods/log, authorised and
/// proxied to the Node's kubelet) to the kubelet's server reading the CRI log files: a container,
/// <c>--tail</c>, <c>--since</c>/<c>--since-time</c>, <c>--timestamps</c>, <c>--limit-bytes</c>,
/// <c>--previous</c>, <c>-l</c>, <c>deployment/NAME</c>, <c>-f</c> until the container stops, and
/// the errors kubectl shows.
/// </summary>
public sealed class KubectlLogsTests : IAsyncLifetime
{
    private KubeletRig _rig = null!;

    public async Task InitializeAsync() => _rig = await KubeletRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Logs_of_a_container_with_tail_since_timestamps_and_limit()
    {
        var pod = await _rig.RunPodAsync("web", ["api", "db"]);
        var now = DateTimeOffset.UtcNow;
        KubeletRig.AppendLog(_rig.LogFile(pod, "api", 0),
            (now.AddMinutes(-30), "stdout", "old line"),
            (now.AddSeconds(-20), "stderr", "warning: recent"),
            (now.AddSeconds(-10).AddTicks(1234567), "stdout", "newest"));
        KubeletRig.AppendLog(_rig.LogFile(pod, "db", 0), (now, "stdout", "db ready"));

        Assert.Equal("old line\nwarning: recent\nnewest\n", await LogsAsync("web", "-c", "api"));
        Assert.Equal("db ready\n", await LogsAsync("web", "-c", "db"));
        Assert.Equal("newest\n", await LogsAsync("web", "-c", "api", "--tail", "1"));
        Assert.Equal("warning: recent\nnewest\n", await LogsAsync("web", "-c", "api", "--since", "5m"));
        Assert.Equal("newest\n", await LogsAsync("web", "-c", "api", "--since-time", now.AddSeconds(-15).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("old li", await LogsAsync("web", "-c", "api", "--limit-bytes", "6"));
        var stamped = await LogsAsync("web", "-c", "api", "--tail", "1", "--timestamps");
        Assert.Equal($"{LocalCluster.KubeletServer.ContainerLogReader.FormatTimestamp(now.AddSeconds(-10).AddTicks(1234567))} newest\n", stamped);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z newest\n$", stamped);

        // Without -c kubectl 1.32 picks the first container itself; the API server asks which.
        Assert.Equal("old line\nwarning: recent\nnewest\n", await LogsAsync("web"));
        using var http = _rig.Api.CreateClient();
        var (code, status) = await http.GetJsonAsync("/api/v1/namespaces/default/pods/web/log");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, code);
        Assert.Equal("a container name must be specified for pod web, choose one of: [api db]", status["message"].Str());

        var (missingCode, _, missing) = await _rig.KubectlAsync(["logs", "web", "-c", "nope"]);
        Assert.NotEqual(0, missingCode);
        Assert.Contains("container nope is not valid for pod web", missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Previous_reads_the_instance_before_the_current_one()
    {
        var pod = await _rig.RunPodAsync("crashy", ["app"]);
        var (code, _, error) = await _rig.KubectlAsync(["logs", "crashy", "--previous"]);
        Assert.NotEqual(0, code);
        Assert.Contains("Error from server (BadRequest): previous terminated container \"app\" in pod \"crashy\" not found", error, StringComparison.Ordinal);

        KubeletRig.AppendLog(_rig.LogFile(pod, "app", 0), (DateTimeOffset.UtcNow, "stderr", "panic: first instance"));
        pod = _rig.Restart(pod, "app", restarts: 1);
        KubeletRig.AppendLog(_rig.LogFile(pod, "app", 1), (DateTimeOffset.UtcNow, "stdout", "second instance"));
        Assert.Equal("second instance\n", await LogsAsync("crashy"));
        Assert.Equal("panic: first instance\n", await LogsAsync("crashy", "--previous"));
        Assert.Equal("panic: first instance\n", await LogsAsync("crashy", "-p"));
    }

    [Fact]
    public async Task Logs_by_label_selector_and_of_a_deployment()
    {
        var labels = new JsonObject { ["app.kubernetes.io/name"] = "user-api" };
        foreach (var name in new[] { "api-a", "api-b" })
        {
            var pod = await _rig.RunPodAsync(name, ["api"], (JsonObject)labels.DeepClone());
            KubeletRig.AppendLog(_rig.LogFile(pod, "api", 0), (DateTimeOffset.UtcNow, "stdout", $"hello from {name}"));
        }
        await _rig.RunPodAsync("other", ["api"], new JsonObject { ["app.kubernetes.io/name"] = "other" });

        var both = await LogsAsync("-l", "app.kubernetes.io/name=user-api", "--prefix");
        Assert.Contains("[pod/api-a/api] hello from api-a", both, StringComparison.Ordinal);
        Assert.Contains("[pod/api-b/api] hello from api-b", both, StringComparison.Ordinal);
        Assert.DoesNotContain("other", both, StringComparison.Ordinal);

        using var http = _rig.Api.CreateClient();
        var deployment = KubeHttp.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"user-api"},
             "spec":{"selector":{"matchLabels":{"app.kubernetes.io/name":"user-api"}},
                     "template":{"metadata":{"labels":{"app.kubernetes.io/name":"user-api"}},
                                 "spec":{"containers":[{"name":"api","image":"busybox"}]}}}}
            """);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await http.PostJsonAsync("/apis/apps/v1/namespaces/default/deployments", deployment)).Code);
        Assert.Matches("^hello from api-[ab]\n$", await LogsAsync("deployment/user-api"));
    }

    [Fact]
    public async Task Follow_streams_new_lines_until_the_container_stops()
    {
        var pod = await _rig.RunPodAsync("tail", ["app"]);
        var file = _rig.LogFile(pod, "app", 0);
        KubeletRig.AppendLog(file, (DateTimeOffset.UtcNow, "stdout", "before follow"));
        using var kubectl = Process.Start(_rig.KubectlStart(["logs", "-f", "tail"]))!;
        var stderr = kubectl.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("before follow", await ReadLineAsync(kubectl));
            KubeletRig.AppendLog(file, (DateTimeOffset.UtcNow, "stdout", "while following"));
            Assert.Equal("while following", await ReadLineAsync(kubectl));
            KubeletRig.AppendLog(file, (DateTimeOffset.UtcNow, "stderr", "last words"));
            Assert.Equal("last words", await ReadLineAsync(kubectl));

            // The container stops: kubectl's follow ends by itself, successfully.
            _rig.Runtime.Set(KubeletRig.ContainerId("tail", "app", 0), running: false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await kubectl.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, kubectl.ExitCode);
            Assert.Null(await kubectl.StandardOutput.ReadLineAsync());
        }
        finally
        {
            if (!kubectl.HasExited) kubectl.Kill();
        }
        Assert.Equal("", (await stderr).Trim());
    }

    [Fact]
    public async Task A_waiting_container_and_an_unreachable_kubelet_are_reported_as_kubectl_shows_them()
    {
        await _rig.RunPodAsync("pending", ["app"]);
        _rig.Api.Store.UpdateStatus(KnownResources.Pods, "default", "pending", p => p["status"] = KubeHttp.Parse("""
            {"phase":"Pending","containerStatuses":[{"name":"app","ready":false,"restartCount":0,"image":"x","imageID":"",
              "state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"x\""}}}]}
            """));
        var (code, _, error) = await _rig.KubectlAsync(["logs", "pending"]);
        Assert.NotEqual(0, code);
        Assert.Contains("Error from server (BadRequest): container \"app\" in pod \"pending\" is waiting to start: trying and failing to pull image", error, StringComparison.Ordinal);

        await _rig.Server.DisposeAsync();
        var (downCode, _, down) = await _rig.KubectlAsync(["logs", "pending"]);
        Assert.NotEqual(0, downCode);
        Assert.Contains($"Error from server: Get \"http://127.0.0.1:{_rig.Server.Endpoint.Port}/containerLogs/default/pending/app\": dial tcp 127.0.0.1:{_rig.Server.Endpoint.Port}: connect: connection refused", down, StringComparison.Ordinal);
    }

    private async Task<string> LogsAsync(params string[] args)
    {
        var (code, stdout, stderr) = await _rig.KubectlAsync(["logs", .. args]);
        Assert.True(code == 0, $"kubectl logs {string.Join(' ', args)} failed ({code}): {stderr}\nkubelet: {_rig.KubeletLog}");
        return stdout;
    }

    private static async Task<string?> ReadLineAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await process.StandardOutput.ReadLineAsync(timeout.Token);
    }
}
