using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// A kubelet's identity (<c>system:node:&lt;name&gt;</c> in <c>system:nodes</c>) under the Node
/// authorizer and NodeRestriction: it registers and updates its own Node only, reads the Secrets
/// and ConfigMaps its Pods use and no others, writes the status of its own Pods only, and asks for
/// ServiceAccount tokens only for Pods bound to it. Nodes are served with kubectl's columns.
/// </summary>
public sealed class NodeAuthorizationTests : FakeServerTest
{
    protected override FakeKubeApiServerOptions CreateOptions() => new() { UseTls = true, EnableAuthorization = true, EmulateCluster = true };

    private HttpClient NodeClient() => Api.CreateClient(Api.IssueToken("system:node:n1", "system:nodes"));

    [Fact]
    public async Task A_node_registers_and_reports_only_its_own_node()
    {
        using var node = NodeClient();
        var (created, body) = await node.PostJsonAsync("/api/v1/nodes", Node("n1"));
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Null(body["metadata"]!["namespace"]);

        var status = KubeHttp.Parse("""
            {"status":{"addresses":[{"type":"InternalIP","address":"10.244.0.1"}],
             "daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},
             "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}],
             "nodeInfo":{"kubeletVersion":"v1.31.0","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0","containerRuntimeVersion":"runc://1.1.5"}}}
            """);
        Assert.Equal(HttpStatusCode.OK, (await node.MergePatchAsync("/api/v1/nodes/n1/status", status)).Code);

        var (other, otherBody) = await node.PostJsonAsync("/api/v1/nodes", Node("n2"));
        Assert.Equal(HttpStatusCode.Forbidden, other);
        Assert.Equal("nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\"", otherBody["message"].Str());

        // kubectl get nodes: the columns of printNode.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/nodes");
        request.Headers.Accept.ParseAdd("application/json;as=Table;v=v1;g=meta.k8s.io");
        using var response = await Http.SendAsync(request);
        var table = KubeHttp.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
            table["columnDefinitions"]!.AsArray().Select(c => c!["name"].Str()!).ToArray());
        var cells = table["rows"]![0]!["cells"]!.AsArray().Select(c => c!.ToString()).ToArray();
        Assert.Equal("n1", cells[0]);
        Assert.Equal("Ready", cells[1]);
        Assert.Equal("<none>", cells[2]);
        Assert.Equal("v1.31.0", cells[4]);
        Assert.Equal("10.244.0.1", cells[5]);
        Assert.Equal("<none>", cells[6]);
        Assert.Equal("runc://1.1.5", cells[9]);
    }

    [Fact]
    public async Task A_node_reads_only_what_its_pods_use_and_writes_only_their_status()
    {
        await Http.PostJsonAsync("/api/v1/namespaces/default/secrets", KubeHttp.Parse("""{"metadata":{"name":"used"},"stringData":{"k":"v"}}"""));
        await Http.PostJsonAsync("/api/v1/namespaces/default/secrets", KubeHttp.Parse("""{"metadata":{"name":"unused"},"stringData":{"k":"v"}}"""));
        var mine = ServiceAccountAdmissionTests.Pod("mine", ["c"], nodeName: "n1");
        mine["spec"]!["containers"]![0]!["env"] = KubeHttp.Parse("""{"e":[{"name":"P","valueFrom":{"secretKeyRef":{"name":"used","key":"k"}}}]}""")["e"]!.DeepClone();
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/v1/namespaces/default/pods", mine)).Code);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("theirs", ["c"], nodeName: "n2"))).Code);
        using var node = NodeClient();

        Assert.Equal(HttpStatusCode.OK, (await node.GetJsonAsync("/api/v1/namespaces/default/secrets/used")).Code);
        Assert.Equal(HttpStatusCode.OK, (await node.GetJsonAsync("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).Code);
        var (denied, deniedBody) = await node.GetJsonAsync("/api/v1/namespaces/default/secrets/unused");
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal("secrets \"unused\" is forbidden: User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\": no relationship found between node 'n1' and this object",
            deniedBody["message"].Str());
        var (list, listBody) = await node.GetJsonAsync("/api/v1/namespaces/default/secrets");
        Assert.Equal(HttpStatusCode.Forbidden, list);
        Assert.EndsWith(": No Object name found", listBody["message"].Str(), StringComparison.Ordinal);

        // Pods are readable; only the status of its own may be written.
        Assert.Equal(HttpStatusCode.OK, (await node.GetJsonAsync("/api/v1/pods")).Code);
        var running = new JsonObject { ["status"] = new JsonObject { ["phase"] = "Running" } };
        Assert.Equal(HttpStatusCode.OK, (await node.MergePatchAsync("/api/v1/namespaces/default/pods/mine/status", running)).Code);
        var (other, otherBody) = await node.MergePatchAsync("/api/v1/namespaces/default/pods/theirs/status", running);
        Assert.Equal(HttpStatusCode.Forbidden, other);
        Assert.Equal("pods \"theirs\" is forbidden: node \"n1\" can only update pod status for pods with spec.nodeName set to itself", otherBody["message"].Str());
        Assert.Equal(HttpStatusCode.Forbidden, (await node.MergePatchAsync("/api/v1/namespaces/default/pods/mine", running)).Code);
    }

    [Fact]
    public async Task A_node_gets_tokens_only_for_pods_bound_to_it()
    {
        var (_, mine) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("mine", ["c"], nodeName: "n1"));
        var (_, theirs) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("theirs", ["c"], nodeName: "n2"));
        await Http.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "elsewhere" } });
        using var node = NodeClient();
        const string Path = "/api/v1/namespaces/default/serviceaccounts/default/token";

        var (ok, token) = await node.PostJsonAsync(Path, ServiceAccountTokenTests.TokenRequest(ServiceAccountTokenTests.BoundTo(mine), 3607, null));
        Assert.Equal(HttpStatusCode.Created, ok);
        Assert.Equal("mine", ServiceAccountTokenTests.Decode(token["status"]!["token"].Str()!).Claims["kubernetes.io"]!["pod"]!["name"].Str());

        var (unbound, unboundBody) = await node.PostJsonAsync(Path, ServiceAccountTokenTests.TokenRequest(null, null, null));
        Assert.Equal(HttpStatusCode.Forbidden, unbound);
        Assert.Equal("serviceaccounts \"default\" is forbidden: node requested token not bound to a pod", unboundBody["message"].Str());

        var (elsewhere, elsewhereBody) = await node.PostJsonAsync(Path, ServiceAccountTokenTests.TokenRequest(ServiceAccountTokenTests.BoundTo(theirs), null, null));
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere);
        Assert.Equal("serviceaccounts \"default\" is forbidden: node requested token bound to a pod scheduled on a different node", elsewhereBody["message"].Str());

        var (unrelated, unrelatedBody) = await node.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts/elsewhere/token", ServiceAccountTokenTests.TokenRequest(null, null, null));
        Assert.Equal(HttpStatusCode.Forbidden, unrelated);
        Assert.EndsWith(": no relationship found between node 'n1' and this object", unrelatedBody["message"].Str(), StringComparison.Ordinal);
    }

    private static JsonObject Node(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Node",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name } },
    };
}
