using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// <c>kubectl exec</c> as users run it (kubectl 1.32, chosen by the server's version: WebSocket
/// <c>v5.channel.k8s.io</c>), through
/// the fake API server's pods/exec upgrade proxy to the kubelet's server, whose runtime runs the
/// command as a host process: output on the right streams, exit codes, stdin with <c>-i</c> ended
/// by end of file, a terminal with <c>-t</c>, <c>deploy/NAME</c>, and the errors kubectl shows.
/// </summary>
public sealed class KubectlExecTests : IAsyncLifetime
{
    private KubeletRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await KubeletRig.StartAsync(gitVersion: "v1.32.0");
        await _rig.RunPodAsync("web", ["api", "db"], new JsonObject { ["app"] = "web" });
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Output_streams_and_the_exit_code_come_back()
    {
        Assert.StartsWith("Client Version: v1.32.", (await _rig.KubectlAsync(["version", "--client"])).Stdout, StringComparison.Ordinal);
        var (code, stdout, stderr) = await _rig.KubectlAsync(["exec", "web", "-c", "api", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
        Assert.True(code == 0, stderr + _rig.KubeletLog);
        Assert.Equal("to-stdout\n", stdout);
        Assert.Equal("to-stderr\n", stderr);
        Assert.Equal(["sh", "-c", "echo to-stdout; echo to-stderr >&2"], _rig.Runtime.Execs.Single());

        var (failed, _, error) = await _rig.KubectlAsync(["exec", "web", "-c", "api", "--", "sh", "-c", "exit 3"]);
        Assert.Equal(3, failed);
        Assert.Equal("command terminated with exit code 3", error.Trim());

        // The kubelet's request went over WebSocket with the newest protocol.
        var upgrade = _rig.Api.Requests.Last(r => r.Path.EndsWith("/exec", StringComparison.Ordinal));
        Assert.Equal("GET", upgrade.Method);
        Assert.Equal(101, upgrade.StatusCode);
        Assert.Equal("get", upgrade.Verb);
    }

    [Fact]
    public async Task Stdin_reaches_the_command_and_its_end_of_file_ends_it()
    {
        var (code, stdout, stderr) = await _rig.KubectlAsync(["exec", "-i", "web", "-c", "db", "--", "sh", "-c", "tr a-z A-Z; echo done"], stdin: "hello\nworld\n");
        Assert.True(code == 0, stderr + _rig.KubeletLog);
        Assert.Equal("HELLO\nWORLD\ndone\n", stdout);
    }

    [Fact]
    public async Task A_terminal_with_its_size_from_kubectl()
    {
        // kubectl uses a terminal only when its own input is one: script(1) gives it one, 40 rows by 100 columns.
        // kubectl sends the size once the stream is up, as the command starts: the command waits for it.
        var start = _rig.KubectlStart([]);
        start.FileName = "script";
        start.ArgumentList.Clear();
        foreach (var a in new[] { "--quiet", "--return", "--command", "stty rows 40 cols 100; exec kubectl exec -it web -c api -- sh -c 'tty; until [ \"$(stty size)\" != \"0 0\" ]; do sleep 0.05; done; stty size; exit 4'", "/dev/null" })
        {
            start.ArgumentList.Add(a);
        }
        start.RedirectStandardInput = true;
        using var script = Process.Start(start)!;
        var stdout = script.StandardOutput.ReadToEndAsync();
        var stderr = script.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await script.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.Matches(@"/dev/pts/\d+\r\n", output);
        Assert.Contains("40 100\r\n", output + await stderr, StringComparison.Ordinal);
        Assert.Equal(4, script.ExitCode);
        Assert.Contains("command terminated with exit code 4", output + await stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_into_a_deployment_picks_one_of_its_pods()
    {
        using var http = _rig.Api.CreateClient();
        var deployment = KubeHttp.Parse("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
             "spec":{"selector":{"matchLabels":{"app":"web"}},
                     "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"api","image":"busybox"},{"name":"db","image":"busybox"}]}}}}
            """);
        await http.PostJsonAsync("/apis/apps/v1/namespaces/default/deployments", deployment);
        var (code, stdout, stderr) = await _rig.KubectlAsync(["exec", "deploy/web", "-c", "db", "--", "echo", "from the deployment"]);
        Assert.True(code == 0, stderr + _rig.KubeletLog);
        Assert.Equal("from the deployment\n", stdout);
    }

    [Fact]
    public async Task Attach_relays_the_output_from_now_on_until_the_container_stops()
    {
        var pod = KubeHttp.Parse((await _rig.Api.CreateClient().GetStringAsync(new Uri("/api/v1/namespaces/default/pods/web", UriKind.Relative))));
        var file = _rig.LogFile(pod, "api", 0);
        KubeletRig.AppendLog(file, (DateTimeOffset.UtcNow, "stdout", "before attach"));
        using var kubectl = Process.Start(_rig.KubectlStart(["attach", "web", "-c", "api"]))!;
        try
        {
            // The attach is up once the kubelet has served its upgrade.
            await _rig.Api.WaitForRequestAsync(r => r.Path.EndsWith("/attach", StringComparison.Ordinal) && r.StatusCode == 101, TimeSpan.FromSeconds(30));
            KubeletRig.AppendLog(file, (DateTimeOffset.UtcNow, "stdout", "after attach"), (DateTimeOffset.UtcNow, "stderr", "on stderr"));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Assert.Equal("after attach", await kubectl.StandardOutput.ReadLineAsync(timeout.Token));
            // kubectl's own hint comes first on stderr.
            Assert.Equal("If you don't see a command prompt, try pressing enter.", await kubectl.StandardError.ReadLineAsync(timeout.Token));
            Assert.Equal("on stderr", await kubectl.StandardError.ReadLineAsync(timeout.Token));

            _rig.Runtime.Set(KubeletRig.ContainerId("web", "api", 0), running: false);
            await kubectl.WaitForExitAsync(timeout.Token);
            Assert.True(kubectl.ExitCode == 0, await kubectl.StandardError.ReadToEndAsync(timeout.Token));
        }
        finally
        {
            if (!kubectl.HasExited) kubectl.Kill();
        }
    }

    [Fact]
    public async Task Errors_are_reported_as_kubectl_shows_them()
    {
        var (missing, _, missingError) = await _rig.KubectlAsync(["exec", "web", "-c", "api", "--", "no-such-command"]);
        Assert.NotEqual(0, missing);
        Assert.Contains("error executing command in container", missingError, StringComparison.Ordinal);
        Assert.Contains("\"no-such-command\": executable file not found in $PATH", missingError, StringComparison.Ordinal);

        var (badContainer, _, badContainerError) = await _rig.KubectlAsync(["exec", "web", "-c", "nope", "--", "true"]);
        Assert.NotEqual(0, badContainer);
        Assert.Contains("Error from server (BadRequest): container nope is not valid for pod web", badContainerError, StringComparison.Ordinal);

        // The container stopped: the kubelet finds no running container to exec in.
        _rig.Runtime.Set(KubeletRig.ContainerId("web", "db", 0), running: false);
        var (stopped, _, stoppedError) = await _rig.KubectlAsync(["exec", "web", "-c", "db", "--", "true"]);
        Assert.NotEqual(0, stopped);
        Assert.Contains("container not found (\"db\")", stoppedError, StringComparison.Ordinal);
    }
}
