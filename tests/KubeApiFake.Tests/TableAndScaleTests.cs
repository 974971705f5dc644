using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>What <c>kubectl get</c> and <c>kubectl scale</c> ask of the server: Table responses and the scale subresource.</summary>
public sealed class TableAndScaleTests : FakeServerTest
{
    private const string TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    private const string Gadgets = "/apis/example.com/v1/namespaces/default/gadgets";

    private const string GadgetCrd = """
        {
          "apiVersion": "apiextensions.k8s.io/v1",
          "kind": "CustomResourceDefinition",
          "metadata": { "name": "gadgets.example.com" },
          "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": { "plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"] },
            "versions": [{
              "name": "v1", "served": true, "storage": true,
              "subresources": { "status": {}, "scale": { "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector" } },
              "additionalPrinterColumns": [
                { "name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status" },
                { "name": "Desired", "type": "integer", "jsonPath": ".spec.replicas" },
                { "name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1 },
                { "name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp" }
              ],
              "schema": { "openAPIV3Schema": { "type": "object", "properties": {
                "spec": { "type": "object", "properties": { "replicas": { "type": "integer", "maximum": 10 }, "color": { "type": "string" } } },
                "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
              } } }
            }]
          }
        }
        """;

    private static readonly ResourceType Pods = new("", "v1", "pods", "Pod", true) { HasStatusSubresource = true, ShortNames = ["po"] };

    protected override FakeKubeApiServerOptions CreateOptions() => new() { AdditionalResources = [Pods] };

    private async Task<JsonObject> CreateGadgetAsync(string name, int replicas)
    {
        var (code, body) = await Http.PostJsonAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KubeHttp.Parse(GadgetCrd));
        Assert.True(code is HttpStatusCode.Created or HttpStatusCode.Conflict, body.ToJsonString());
        var (created, gadget) = await Http.PostJsonAsync(Gadgets, KubeHttp.Parse(
            $$$"""{"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"{{{name}}}"},"spec":{"replicas":{{{replicas}}}}}"""));
        Assert.Equal(HttpStatusCode.Created, created);
        return gadget;
    }

    private async Task<JsonObject> GetTableAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd(TableAccept);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return KubeHttp.Parse(text);
    }

    private static List<string> Columns(JsonObject table) =>
        table["columnDefinitions"]!.AsArray().Select(c => c!["name"].Str()!).ToList();

    private static JsonArray Cells(JsonObject table, int row = 0) => table["rows"]![row]!["cells"]!.AsArray();

    [Fact]
    public async Task Custom_resources_list_as_a_table_of_the_crds_printer_columns()
    {
        await CreateGadgetAsync("g1", 2);
        Api.Store.UpdateStatus("example.com", "v1", "gadgets", "default", "g1", g => g["status"] = KubeHttp.Parse(
            """{"conditions":[{"type":"Progressing","status":"False"},{"type":"Ready","status":"True"}]}"""));

        var table = await GetTableAsync(Gadgets);
        Assert.Equal(("Table", "meta.k8s.io/v1"), (table["kind"].Str(), table["apiVersion"].Str()));
        Assert.Equal(["Name", "Ready", "Desired", "Color", "Age"], Columns(table));
        Assert.Equal(1, table["columnDefinitions"]![3]!["priority"]!.GetValue<int>());
        Assert.Equal("name", table["columnDefinitions"]![0]!["format"].Str());
        var cells = Cells(table);
        Assert.Equal("g1", cells[0].Str());
        Assert.Equal("True", cells[1].Str());
        Assert.Equal(2, cells[2]!.GetValue<long>());
        Assert.Null(cells[3]);
        Assert.Matches("^[0-9]+s$", cells[4].Str());
        var rowObject = table["rows"]![0]!["object"]!;
        Assert.Equal("PartialObjectMetadata", rowObject["kind"].Str());
        Assert.Equal("g1", rowObject["metadata"]!["name"].Str());
        Assert.Null(rowObject["spec"]);
        Assert.False(string.IsNullOrEmpty(table["metadata"]!["resourceVersion"].Str()));

        // One object as a one-row table; without the Accept header, plain JSON as before.
        var single = await GetTableAsync($"{Gadgets}/g1");
        Assert.Single(single["rows"]!.AsArray());
        var (_, plain) = await Http.GetJsonAsync($"{Gadgets}/g1");
        Assert.Equal("Gadget", plain["kind"].Str());
    }

    [Fact]
    public async Task A_crd_without_printer_columns_gets_name_and_age()
    {
        await Widgets.InstallAsync(Http);
        await Http.PostJsonAsync(Widgets.Collection, KubeHttp.Parse(Widgets.Widget("w")));
        var table = await GetTableAsync(Widgets.Collection);
        Assert.Equal(["Name", "Age"], Columns(table));
        Assert.Equal("w", Cells(table)[0].Str());
    }

    [Fact]
    public async Task Pods_print_ready_status_and_restarts_like_kubectl()
    {
        var (code, _) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", KubeHttp.Parse(
            """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"db","image":"mariadb"},{"name":"api","image":"userapi"}]},"status":{"phase":"Running"}}"""));
        Assert.Equal(HttpStatusCode.Created, code);
        var pending = await GetTableAsync("/api/v1/namespaces/default/pods");
        Assert.Equal(["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"], Columns(pending));
        Assert.Equal(("p", "0/2", "Pending", 0L), (Cells(pending)[0].Str(), Cells(pending)[1].Str(), Cells(pending)[2].Str(), Cells(pending)[3]!.GetValue<long>()));

        // The kubelet reports through the status subresource: one container ready, one crash-looping.
        var finished = DateTimeOffset.UtcNow.AddMinutes(-3).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var (statusCode, _) = await Http.MergePatchAsync("/api/v1/namespaces/default/pods/p/status", KubeHttp.Parse("""
            {"status":{"phase":"Running","podIP":"10.244.0.5","containerStatuses":[
              {"name":"db","ready":true,"restartCount":0,"state":{"running":{}}},
              {"name":"api","ready":false,"restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"FINISHED"}}}]}}
            """.Replace("FINISHED", finished, StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.OK, statusCode);
        var cells = Cells(await GetTableAsync("/api/v1/namespaces/default/pods/p"));
        Assert.Equal("1/2", cells[1].Str());
        Assert.Equal("CrashLoopBackOff", cells[2].Str());
        Assert.Matches(@"^3 \(3m[0-9]*s? ago\)$", cells[3].Str());
        Assert.Equal("10.244.0.5", cells[5].Str());
        Assert.Equal("<none>", cells[6].Str());

        // Deleting with a finalizer shows Terminating.
        await Http.MergePatchAsync("/api/v1/namespaces/default/pods/p", KubeHttp.Parse("""{"metadata":{"finalizers":["example.com/hold"]}}"""));
        await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/p");
        Assert.Equal("Terminating", Cells(await GetTableAsync("/api/v1/namespaces/default/pods/p"))[2].Str());
    }

    [Fact]
    public async Task Built_in_kinds_print_the_columns_of_the_real_printers()
    {
        await Api.ApplyAsync("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: "nginx:1.27"}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds, namespace: default}
            stringData: {user: root, password: x}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web, namespace: default}
            spec:
              ingressClassName: nginx
              rules: [{host: web.local, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
            """);
        Api.Store.UpdateStatus(KnownResources.Deployments, "default", "web", d => d["status"] = KubeHttp.Parse("""{"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}"""));

        var deployments = await GetTableAsync("/apis/apps/v1/namespaces/default/deployments");
        Assert.Equal(["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"], Columns(deployments));
        var d = Cells(deployments);
        Assert.Equal(("2/3", 3L, 2L, "web", "nginx:1.27", "app=web"), (d[1].Str(), d[2]!.GetValue<long>(), d[3]!.GetValue<long>(), d[5].Str(), d[6].Str(), d[7].Str()));

        var services = await GetTableAsync("/api/v1/namespaces/default/services");
        Assert.Equal(["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"], Columns(services));
        var s = Cells(services);
        Assert.Equal(("ClusterIP", "<none>", "80/TCP", "app=web"), (s[1].Str(), s[3].Str(), s[4].Str(), s[6].Str()));
        Assert.StartsWith("10.96.", s[2].Str(), StringComparison.Ordinal);

        var secrets = await GetTableAsync("/api/v1/namespaces/default/secrets");
        Assert.Equal(["Name", "Type", "Data", "Age"], Columns(secrets));
        Assert.Equal(("Opaque", 2L), (Cells(secrets)[1].Str(), Cells(secrets)[2]!.GetValue<long>()));

        var ingresses = await GetTableAsync("/apis/networking.k8s.io/v1/namespaces/default/ingresses");
        Assert.Equal(["Name", "Class", "Hosts", "Address", "Ports", "Age"], Columns(ingresses));
        Assert.Equal(("nginx", "web.local", "80"), (Cells(ingresses)[1].Str(), Cells(ingresses)[2].Str(), Cells(ingresses)[4].Str()));
    }

    [Fact]
    public async Task Endpoints_print_up_to_three_addresses()
    {
        Api.RegisterResource(new ResourceType("", "v1", "endpoints", "Endpoints", true));
        var (code, _) = await Http.PostJsonAsync("/api/v1/namespaces/default/endpoints", KubeHttp.Parse(
            """{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"},{"ip":"10.0.0.3"},{"ip":"10.0.0.4"}],"ports":[{"port":8000}]}]}"""));
        Assert.Equal(HttpStatusCode.Created, code);
        var table = await GetTableAsync("/api/v1/namespaces/default/endpoints");
        Assert.Equal(["Name", "Endpoints", "Age"], Columns(table));
        Assert.Equal("10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000 + 1 more...", Cells(table)[1].Str());
    }

    [Fact]
    public async Task A_watch_that_asks_for_tables_gets_one_row_tables()
    {
        var gadget = await CreateGadgetAsync("g1", 2);
        using var tableClient = Api.CreateClient();
        tableClient.DefaultRequestHeaders.Accept.ParseAdd(TableAccept);
        await using var watch = await WatchStream.OpenAsync(tableClient, $"{Gadgets}?watch=true&resourceVersion={gadget.Rv()}");
        await Http.MergePatchAsync($"{Gadgets}/g1", KubeHttp.Parse("""{"spec":{"replicas":4}}"""));
        var modified = await watch.NextAsync();
        Assert.Equal("MODIFIED", modified["type"].Str());
        var table = modified["object"]!.AsObject();
        Assert.Equal("Table", table["kind"].Str());
        Assert.Equal(["Name", "Ready", "Desired", "Color", "Age"], Columns(table));
        Assert.Equal(("g1", 4L), (Cells(table)[0].Str(), Cells(table)[2]!.GetValue<long>()));
        Assert.Equal("g1", table["rows"]![0]!["object"]!["metadata"]!["name"].Str());
    }

    [Fact]
    public async Task Include_object_none_and_object()
    {
        await CreateGadgetAsync("g1", 1);
        Assert.Null((await GetTableAsync($"{Gadgets}?includeObject=None"))["rows"]![0]!["object"]);
        var full = (await GetTableAsync($"{Gadgets}?includeObject=Object"))["rows"]![0]!["object"]!;
        Assert.Equal(("Gadget", 1), (full["kind"].Str(), full["spec"]!["replicas"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Scale_subresource_reads_and_writes_the_crds_replica_paths()
    {
        var gadget = await CreateGadgetAsync("g1", 2);
        Api.Store.UpdateStatus("example.com", "v1", "gadgets", "default", "g1", g => g["status"] = KubeHttp.Parse("""{"replicas":1,"selector":"app=g1"}"""));

        var (_, resources) = await Http.GetJsonAsync("/apis/example.com/v1");
        var entry = resources["resources"]!.AsArray().Single(r => r!["name"].Str() == "gadgets/scale")!;
        Assert.Equal(("autoscaling", "v1", "Scale"), (entry["group"].Str(), entry["version"].Str(), entry["kind"].Str()));

        var (code, scale) = await Http.GetJsonAsync($"{Gadgets}/g1/scale");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(("Scale", "autoscaling/v1", 2, 1, "app=g1"), (scale["kind"].Str(), scale["apiVersion"].Str(),
            scale["spec"]!["replicas"]!.GetValue<int>(), scale["status"]!["replicas"]!.GetValue<int>(), scale["status"]!["selector"].Str()));
        Assert.Equal(gadget["metadata"]!["uid"].Str(), scale["metadata"]!["uid"].Str());

        // kubectl scale without preconditions: a merge patch of the Scale.
        var (patched, afterPatch) = await Http.MergePatchAsync($"{Gadgets}/g1/scale", KubeHttp.Parse("""{"spec":{"replicas":5}}"""));
        Assert.Equal(HttpStatusCode.OK, patched);
        Assert.Equal(5, afterPatch["spec"]!["replicas"]!.GetValue<int>());
        var stored = Api.Store.Get("example.com", "v1", "gadgets", "default", "g1")!;
        Assert.Equal(5, stored["spec"]!["replicas"]!.GetValue<int>());
        Assert.Equal(2, stored["metadata"]!["generation"]!.GetValue<long>());

        // --resource-version: a PUT whose resourceVersion is stale is a Conflict.
        var stale = (JsonObject)scale.DeepClone();
        stale["spec"]!["replicas"] = 4;
        var (conflict, _) = await Http.PutJsonAsync($"{Gadgets}/g1/scale", stale);
        Assert.Equal(HttpStatusCode.Conflict, conflict);

        // The CRD schema still applies (maximum 10), and Scale's own rule (>= 0).
        var (tooMany, invalid) = await Http.MergePatchAsync($"{Gadgets}/g1/scale", KubeHttp.Parse("""{"spec":{"replicas":11}}"""));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "Invalid"), (tooMany, invalid["reason"].Str()));
        var (negative, _) = await Http.MergePatchAsync($"{Gadgets}/g1/scale", KubeHttp.Parse("""{"spec":{"replicas":-1}}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, negative);
        var (missing, _) = await Http.GetJsonAsync($"{Gadgets}/absent/scale");
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }

    [Fact]
    public async Task Deployments_scale_with_their_selector_as_text()
    {
        await Api.ApplyAsync("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              replicas: 1
              selector: {matchLabels: {app: web, tier: front}}
              template:
                metadata: {labels: {app: web, tier: front}}
                spec: {containers: [{name: web, image: nginx}]}
            """);
        var (code, scale) = await Http.SendAsync(HttpMethod.Patch, "/apis/apps/v1/namespaces/default/deployments/web/scale",
            """{"spec":{"replicas":4}}""", "application/strategic-merge-patch+json");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal((4, "app=web,tier=front"), (scale["spec"]!["replicas"]!.GetValue<int>(), scale["status"]!["selector"].Str()));
        Assert.Equal(4, Api.Store.Get(KnownResources.Deployments, "default", "web")!["spec"]!["replicas"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(119, "119s")]
    [InlineData(200, "3m20s")]
    [InlineData(600, "10m")]
    [InlineData(4 * 3600 + 120, "4h2m")]
    [InlineData(30 * 3600, "30h")]
    [InlineData(3 * 86400 + 3600, "3d1h")]
    [InlineData(40 * 86400, "40d")]
    [InlineData(3 * 365 * 86400, "3y")]
    public void Ages_are_printed_like_apimachinerys_HumanDuration(int seconds, string expected) =>
        Assert.Equal(expected, Tables.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(".spec.replicas", "3")]
    [InlineData("{.status.conditions[?(@.type==\"Ready\")].status}", "True")]
    [InlineData(".status.conditions[?(@.type!='Ready')].reason", "Scaling")]
    [InlineData(".status.conditions[1].type", "Ready")]
    [InlineData(".status.conditions[-1].type", "Ready")]
    [InlineData(".metadata.labels['app.kubernetes.io/name']", "web")]
    [InlineData(".status.missing", null)]
    public void Simple_jsonpath_finds_what_printer_columns_ask_for(string path, string? expected)
    {
        var obj = KubeHttp.Parse("""
            {"metadata":{"labels":{"app.kubernetes.io/name":"web"}},"spec":{"replicas":3},
             "status":{"conditions":[{"type":"Progressing","status":"True","reason":"Scaling"},{"type":"Ready","status":"True"}]}}
            """);
        var found = SimpleJsonPath.First(obj, path);
        Assert.Equal(expected, found is null ? null : found is JsonValue v && v.TryGetValue<string>(out var s) ? s : found.ToJsonString());
    }
}
