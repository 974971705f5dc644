using System.Diagnostics;
using System.Text;
using LocalCluster.KubeletServer;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// <see cref="RuncRuntime"/> against a real runc container: exec runs inside it (its environment,
/// hostname and read-only root), with piped streams or on the pty runc makes in the container,
/// start failures come back with runc's message, killing an exec leaves the container's own process
/// alone; and, end to end, kubectl exec and kubectl exec -it reach it through the API server and
/// the kubelet's server.
/// </summary>
public sealed class RuncRuntimeTests : IAsyncLifetime
{
    private BusyboxContainer _container = null!;
    private RuncRuntime _runtime = null!;

    public async Task InitializeAsync()
    {
        _container = await BusyboxContainer.StartAsync();
        _runtime = new RuncRuntime(_container.RuncRoot);
    }

    public async Task DisposeAsync() => await _container.DisposeAsync();

    [Fact]
    public async Task Status_and_exec_with_pipes()
    {
        Assert.Equal(new RuntimeContainerStatus(Running: true), await _runtime.GetContainerStatusAsync(_container.Id, CancellationToken.None));
        Assert.Null(await _runtime.GetContainerStatusAsync("no-such-container", CancellationToken.None));

        await using (var process = await _runtime.ExecAsync(_container.Id, new ExecRequest(["sh", "-c", "echo $FOO $(hostname); echo err >&2; touch /x || exit 3"], Stdin: false, Tty: false), CancellationToken.None))
        {
            var stdout = new StreamReader(process.Stdout).ReadToEndAsync();
            var stderr = new StreamReader(process.Stderr!).ReadToEndAsync();
            Assert.Equal(3, await process.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("bar box\n", await stdout);
            Assert.StartsWith("err\ntouch: /x: Read-only file system", await stderr, StringComparison.Ordinal);
        }

        await using (var cat = await _runtime.ExecAsync(_container.Id, new ExecRequest(["cat"], Stdin: true, Tty: false), CancellationToken.None))
        {
            var output = new StreamReader(cat.Stdout).ReadToEndAsync();
            await cat.Stdin!.WriteAsync(Encoding.UTF8.GetBytes("ping\n"));
            await cat.Stdin.DisposeAsync();
            Assert.Equal(0, await cat.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("ping\n", await output);
        }

        var failure = await Assert.ThrowsAsync<ExecStartException>(() => _runtime.ExecAsync(_container.Id, new ExecRequest(["nope"], false, false), CancellationToken.None));
        Assert.Equal("OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown", failure.Message);
    }

    [Fact]
    public async Task Exec_on_the_terminal_runc_makes_and_a_kill_that_spares_the_container()
    {
        await using (var shell = await _runtime.ExecAsync(_container.Id,
            new ExecRequest(["sh", "-c", "tty; until [ \"$(stty size 2>/dev/null)\" = \"33 77\" ]; do sleep 0.05; done; stty size; echo $TERM"], Stdin: true, Tty: true), CancellationToken.None))
        {
            Assert.Null(shell.Stderr);
            var output = ReadToEndAsync(shell.Stdout);
            shell.Resize(new TerminalSize(77, 33));
            Assert.Equal(0, await shell.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
            // \r\r\n now and then, as with runc exec -t in a terminal by hand: runc 1.1.5 clears ONLCR
            // on the container's pty while the command may already write.
            var text = await output;
            Assert.Matches(@"^/dev/pts/\d+\r+\n33 77\r+\nxterm\r+\n$", text);
        }

        var sleeper = await _runtime.ExecAsync(_container.Id, new ExecRequest(["sleep", "99999"], false, false), CancellationToken.None);
        await using (sleeper)
        {
            Assert.Contains("sleep 99999", await _container.ProcessesAsync(), StringComparison.Ordinal);
            sleeper.Kill();
            await sleeper.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        }
        var left = await _container.ProcessesAsync();
        Assert.DoesNotContain("sleep 99999", left, StringComparison.Ordinal);
        Assert.Contains("sleep 100000", left, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubectl_exec_reaches_the_runc_container()
    {
        await using var rig = await KubeletRig.StartAsync(_runtime);
        await rig.RunPodAsync("box", ["main"], containerId: _container.Id);

        var (code, stdout, stderr) = await rig.KubectlAsync(["exec", "box", "--", "sh", "-c", "echo $FOO from $(hostname); exit 5"]);
        Assert.Equal(5, code);
        Assert.Equal("bar from box\n", stdout);
        Assert.Equal("command terminated with exit code 5", stderr.Trim());

        var (catCode, catOut, catErr) = await rig.KubectlAsync(["exec", "-i", "box", "--", "tr", "a-z", "A-Z"], stdin: "shout\n");
        Assert.True(catCode == 0, catErr + rig.KubeletLog);
        Assert.Equal("SHOUT\n", catOut);

        // A terminal: script(1) gives kubectl one of 30 rows by 90 columns, which reaches the container's pty.
        var start = rig.KubectlStart([]);
        start.FileName = "script";
        start.RedirectStandardInput = true;
        foreach (var a in new[] { "--quiet", "--return", "--command", "stty rows 30 cols 90; exec kubectl exec -it box -- sh -c 'tty; until [ \"$(stty size 2>/dev/null)\" = \"30 90\" ]; do sleep 0.05; done; echo sized'", "/dev/null" })
        {
            start.ArgumentList.Add(a);
        }
        using var script = Process.Start(start)!;
        var output = script.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await script.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, script.ExitCode);
        Assert.Matches(@"/dev/pts/\d+\r+\nsized\r+\n", await output);
    }

    /// <summary>Reads a terminal to its end (EIO once nothing holds it any more).</summary>
    private static async Task<string> ReadToEndAsync(Stream terminal)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await terminal.ReadAsync(buffer)) > 0) text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        catch (IOException)
        {
        }
        return text.ToString();
    }
}
