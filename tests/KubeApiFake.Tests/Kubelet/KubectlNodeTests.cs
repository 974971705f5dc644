namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// The Node a kubelet registers, as kubectl shows it: <c>get nodes</c> (wide too), the Pods on it by
/// the <c>spec.nodeName</c> field selector, and <c>describe node</c> with its Pods.
/// </summary>
public sealed class KubectlNodeTests : IAsyncLifetime
{
    private KubeletRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await KubeletRig.StartAsync();
        await _rig.RunPodAsync("web", ["api"]);
        using var http = _rig.Api.CreateClient();
        await http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("elsewhere", ["c"], nodeName: "n2"));
        await http.MergePatchAsync($"/api/v1/nodes/{KubeletRig.NodeName}", KubeHttp.Parse("""{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}"""));
        await http.MergePatchAsync($"/api/v1/nodes/{KubeletRig.NodeName}/status", KubeHttp.Parse("""
            {"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status",
                                      "lastHeartbeatTime":"2026-01-01T00:00:00Z","lastTransitionTime":"2026-01-01T00:00:00Z"}],
                       "nodeInfo":{"kubeletVersion":"v1.31.0","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0-test",
                                   "containerRuntimeVersion":"runc://1.1.5","operatingSystem":"linux","architecture":"amd64"}}}
            """));
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Get_and_describe_show_the_node_and_its_pods()
    {
        var nodes = await KubectlAsync("get", "nodes");
        Assert.Matches(@"^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nn1\s+Ready\s+control-plane\s+\S+\s+v1\.31\.0$", nodes);
        var wide = await KubectlAsync("get", "nodes", "-o", "wide");
        Assert.Matches(@"INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME", wide);
        Assert.Matches(@"127\.0\.0\.1\s+<none>\s+Debian GNU/Linux 12 \(bookworm\)\s+6\.1\.0-test\s+runc://1\.1\.5", wide);

        Assert.Equal("pod/web", await KubectlAsync("get", "pods", "--field-selector", "spec.nodeName=n1", "-o", "name"));
        var described = await KubectlAsync("describe", "node", "n1");
        Assert.Matches(@"Roles:\s+control-plane", described);
        Assert.Matches(@"Non-terminated Pods:\s+\(1 in total\)", described);
        Assert.Matches(@"default\s+web\s+", described);
        Assert.DoesNotContain("elsewhere", described, StringComparison.Ordinal);
    }

    private async Task<string> KubectlAsync(params string[] args)
    {
        var (code, stdout, stderr) = await _rig.KubectlAsync(args);
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)} failed ({code}): {stderr}");
        return stdout.Trim();
    }
}
