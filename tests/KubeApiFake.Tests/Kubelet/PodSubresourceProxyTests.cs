using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests.Kubelet;

/// <summary>
/// pods/log and pods/exec over plain HTTP, where kubectl hides what the API server and the kubelet
/// answer: the authorisation of each (get on pods/log; create for POST and get for GET on
/// pods/exec), the API server's own checks and their messages, the query the kubelet receives, the
/// kubelet's errors as the API server passes them on, a WebSocket exec spoken by hand (protocol
/// choice, channels, the v5 close of stdin, the exit status), and the CRI log format's partial lines.
/// </summary>
public sealed class PodSubresourceProxyTests : IAsyncLifetime
{
    private KubeletRig _rig = null!;
    private HttpClient _admin = null!;
    private JsonObject _pod = null!;

    public async Task InitializeAsync()
    {
        _rig = await KubeletRig.StartAsync();
        _admin = _rig.Api.CreateClient();
        _pod = await _rig.RunPodAsync("web", ["api"]);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _rig.DisposeAsync();
    }

    [Fact]
    public async Task Log_and_exec_are_authorised_as_their_subresources()
    {
        using var http = _rig.Api.CreateClient(null);
        await _admin.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "viewer" } });
        await _rig.Api.ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pods-reader, namespace: default}
            rules:
            - {apiGroups: [""], resources: [pods], verbs: [get, list]}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: viewer, namespace: default}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods-reader}
            subjects: [{kind: ServiceAccount, name: viewer, namespace: default}]
            """);
        var token = _rig.Api.IssueServiceAccountToken("default", "viewer");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var (logCode, log) = await http.GetJsonAsync("/api/v1/namespaces/default/pods/web/log");
        Assert.Equal(HttpStatusCode.Forbidden, logCode);
        Assert.Equal("pods \"web\" is forbidden: User \"system:serviceaccount:default:viewer\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"default\"", log["message"].Str());

        var (execCode, exec) = await http.PostJsonAsync("/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true", new JsonObject());
        Assert.Equal(HttpStatusCode.Forbidden, execCode);
        Assert.Equal("pods \"web\" is forbidden: User \"system:serviceaccount:default:viewer\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\"", exec["message"].Str());

        await _rig.Api.ApplyAsync("""
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: pods-reader, namespace: default}
            rules:
            - {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list]}
            """);
        using var allowed = await http.GetAsync(new Uri("/api/v1/namespaces/default/pods/web/log", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("text/plain", allowed.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_api_server_checks_first_and_passes_the_kubelets_errors_on()
    {
        Assert.Equal((HttpStatusCode.NotFound, "pods \"nope\" not found"), await GetErrorAsync("/api/v1/namespaces/default/pods/nope/log"));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"),
            await GetErrorAsync("/api/v1/namespaces/default/pods/web/log?tailLines=-1"));
        Assert.Equal((HttpStatusCode.BadRequest, "container nope is not valid for pod web"), await GetErrorAsync("/api/v1/namespaces/default/pods/web/log?container=nope"));

        // The query the kubelet gets: the PodLogOptions it takes, container in the path.
        using (var response = await _admin.GetAsync(new Uri("/api/v1/namespaces/default/pods/web/log?tailLines=2&timestamps=true&sinceSeconds=60&limitBytes=100", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Contains("GET /containerLogs/default/web/api?limitBytes=100&sinceSeconds=60&tailLines=2&timestamps=true 200", _rig.KubeletLog, StringComparison.Ordinal);

        // A Pod of the node the kubelet has not started anything of yet.
        var elsewhere = ServiceAccountAdmissionTests.Pod("elsewhere", ["c"], nodeName: KubeletRig.NodeName);
        await _admin.PostJsonAsync("/api/v1/namespaces/kube-system/pods", elsewhere);
        Assert.Equal((HttpStatusCode.BadRequest, "container \"c\" in pod \"elsewhere\" is not available"), await GetErrorAsync("/api/v1/namespaces/kube-system/pods/elsewhere/log"));

        // No node yet: an empty log, and exec has no host.
        await _admin.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("unscheduled", ["c"]));
        using (var empty = await _admin.GetAsync(new Uri("/api/v1/namespaces/default/pods/unscheduled/log", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
            Assert.Equal("", await empty.Content.ReadAsStringAsync());
        }
        Assert.Equal((HttpStatusCode.BadRequest, "pod unscheduled does not have a host assigned"),
            await GetErrorAsync("/api/v1/namespaces/default/pods/unscheduled/exec?command=true&stdout=true", HttpMethod.Post));

        // A node that does not exist, and exec without an upgrade.
        await _admin.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("lost", ["c"], nodeName: "gone"));
        Assert.Equal((HttpStatusCode.NotFound, "nodes \"gone\" not found"), await GetErrorAsync("/api/v1/namespaces/default/pods/lost/log"));
        Assert.Equal((HttpStatusCode.BadRequest, "Upgrade request required"),
            await GetErrorAsync("/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true", HttpMethod.Post));
    }

    [Fact]
    public async Task A_kubelet_404_reads_as_kube_apiserver_reports_it()
    {
        // A Pod the API server knows on this node, which the kubelet does not run.
        await _admin.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("ghost", ["c"], nodeName: KubeletRig.NodeName));
        var hidden = new HiddenPodHost(_rig);
        await using var kubelet = await LocalCluster.KubeletServer.KubeletServer.StartAsync(hidden, _rig.Runtime, new() { Port = 0 });
        var port = new JsonObject { ["Port"] = kubelet.Endpoint.Port };
        await _admin.MergePatchAsync($"/api/v1/nodes/{KubeletRig.NodeName}/status",
            new JsonObject { ["status"] = new JsonObject { ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = port } } });
        var (code, body) = await _admin.GetJsonAsync("/api/v1/namespaces/default/pods/ghost/log");
        Assert.Equal(HttpStatusCode.NotFound, code);
        KubeHttp.AssertStatus(body, 404, "NotFound");
        Assert.Equal("the server could not find the requested resource ( pods/log ghost)", body["message"].Str());
    }

    [Theory]
    [InlineData("v5.channel.k8s.io")]
    [InlineData("v4.channel.k8s.io")]
    [InlineData("v4.base64.channel.k8s.io")]
    public async Task Exec_over_a_websocket_spoken_by_hand(string protocol)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(protocol);
        socket.Options.SetRequestHeader("Authorization", $"Bearer {_rig.Api.AdminToken}");
        socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null
            && certificate.GetRawCertData().AsSpan().SequenceEqual(_rig.Api.Certificate!.RawData);
        var stdin = protocol.StartsWith("v5", StringComparison.Ordinal);
        var command = stdin ? "command=sh&command=-c&command=cat%3B%20echo%20oops%20%3E%262%3B%20exit%207" : "command=sh&command=-c&command=echo%20hi%3B%20exit%207";
        var uri = new Uri($"wss://127.0.0.1:{_rig.Api.BaseAddress.Port}/api/v1/namespaces/default/pods/web/exec?{command}&stdin={(stdin ? "true" : "false")}&stdout=true&stderr=true");
        await socket.ConnectAsync(uri, CancellationToken.None);
        Assert.Equal(protocol, socket.SubProtocol);
        var base64 = protocol.Contains("base64", StringComparison.Ordinal);

        if (stdin)
        {
            await SendAsync(socket, 0, "from stdin\n", base64);
            await socket.SendAsync(new byte[] { 255, 0 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        }

        var channels = new Dictionary<int, StringBuilder>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[65536];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) break;
            Assert.True(result.EndOfMessage);
            var (channel, data) = base64
                ? (buffer[0] - '0', Encoding.UTF8.GetString(Convert.FromBase64String(Encoding.ASCII.GetString(buffer, 1, result.Count - 1))))
                : (buffer[0], Encoding.UTF8.GetString(buffer, 1, result.Count - 1));
            Assert.Equal(base64 ? WebSocketMessageType.Text : WebSocketMessageType.Binary, result.MessageType);
            (channels.TryGetValue(channel, out var text) ? text : channels[channel] = new StringBuilder()).Append(data);
        }
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);

        Assert.Equal(stdin ? "from stdin\n" : "hi\n", channels[1].ToString());
        if (stdin) Assert.Equal("oops\n", channels[2].ToString());
        var status = KubeHttp.Parse(channels[3].ToString());
        Assert.Equal("Failure", status["status"].Str());
        Assert.Equal("NonZeroExitCode", status["reason"].Str());
        Assert.Equal("ExitCode", status["details"]!["causes"]![0]!["reason"].Str());
        Assert.Equal("7", status["details"]!["causes"]![0]!["message"].Str());
    }

    [Fact]
    public async Task Partial_lines_join_and_timestamps_mark_only_line_starts()
    {
        var file = _rig.LogFile(_pod, "api", 0);
        await File.AppendAllTextAsync(file,
            "2026-01-02T03:04:05.000000001Z stdout P first half, \n" +
            "2026-01-02T03:04:05.5Z stdout F second half\n" +
            "2026-01-02T03:04:06Z stderr F whole line\n" +
            "not a CRI line\n" +
            "2026-01-02T03:04:07Z stdout F incomplete");
        Assert.Equal("first half, second half\nwhole line\nincomplete", await LogTextAsync(""));
        Assert.Equal(
            "2026-01-02T03:04:05.000000001Z first half, second half\n2026-01-02T03:04:06Z whole line\n2026-01-02T03:04:07Z incomplete",
            await LogTextAsync("?timestamps=true"));
        Assert.Equal("whole line\nincomplete", await LogTextAsync("?tailLines=2"));
        Assert.Equal("", await LogTextAsync("?tailLines=0"));
    }

    private async Task<string> LogTextAsync(string query)
    {
        using var response = await _admin.GetAsync(new Uri($"/api/v1/namespaces/default/pods/web/log{query}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task SendAsync(ClientWebSocket socket, byte channel, string text, bool base64)
    {
        var message = base64
            ? Encoding.ASCII.GetBytes((char)('0' + channel) + Convert.ToBase64String(Encoding.UTF8.GetBytes(text)))
            : [channel, .. Encoding.UTF8.GetBytes(text)];
        await socket.SendAsync(message, base64 ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    private async Task<(HttpStatusCode, string?)> GetErrorAsync(string path, HttpMethod? method = null)
    {
        var (code, body) = await _admin.SendAsync(method ?? HttpMethod.Get, path);
        Assert.Equal("Status", body["kind"].Str());
        return (code, body["message"].Str());
    }

    /// <summary>The rig's kubelet, but one that does not run Pod <c>ghost</c>.</summary>
    private sealed class HiddenPodHost(KubeletRig rig) : LocalCluster.KubeletServer.IKubeletHost
    {
        public string PodLogsRoot => rig.LogsRoot;

        public k8s.Models.V1Pod? GetPodByName(string @namespace, string name) => name == "ghost" ? null : rig.GetPodByName(@namespace, name);
    }
}
