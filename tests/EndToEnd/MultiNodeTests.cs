using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The autopilot on a cluster of three nodes (<see cref="MultiNodeClusterFixture"/>), in order: a
/// UserApi of three replicas spread one Pod per node by the scheduler; <c>kubectl top</c>; a
/// <c>kubectl drain</c> through the Eviction API while requests flow through the Ingress; a drain
/// the budget blocks (429); the autoscaler under wrk's load, up and back down; a Pod that fits no
/// node; a stopped kubelet's node going NotReady; and <c>down</c> leaving nothing of any node.
/// Durations (drain, scale up, scale down) are printed.
/// </summary>
[TestCaseOrderer("UserApiOperator.EndToEnd.ByOrder", "EndToEnd")]
public sealed class MultiNodeTests(MultiNodeClusterFixture cluster, ITestOutputHelper output) : IClassFixture<MultiNodeClusterFixture>
{
    private const string Spread = "spread";
    private const string SpreadHost = "spread.local";
    private const string SpreadSelector = "app.kubernetes.io/instance=" + Spread;
    private static readonly string[] NodeNames = ["local-cluster", "local-cluster-m02", "local-cluster-m03"];

    [Fact(Timeout = 300_000)]
    [Order(1)]
    public async Task ThreeReplicasRunOnePodPerNodeAndKubectlTopShowsThem()
    {
        var nodes = (await cluster.GetJsonAsync("get", "nodes"))["items"]!.AsArray();
        Assert.Equal(NodeNames, nodes.Select(n => (string)n!["metadata"]!["name"]!).Order(StringComparer.Ordinal));
        Assert.Equal(["zone-a", "zone-b", "zone-c"], nodes.Select(n => (string)n!["metadata"]!["labels"]!["topology.kubernetes.io/zone"]!).Order(StringComparer.Ordinal));
        Assert.All(nodes, n => Assert.Equal((string)n!["metadata"]!["name"]!, (string?)n["metadata"]!["labels"]!["kubernetes.io/hostname"]));

        await ApplyAsync(UserApi(Spread, SpreadHost, replicas: 3));
        var ready = await WaitForReadyAsync(Spread, 3, TimeSpan.FromSeconds(180));
        var pods = await PodsAsync(SpreadSelector);
        var placement = pods.Select(p => (string)p["spec"]!["nodeName"]!).ToList();
        Say($"3 replicas Ready {ready.TotalSeconds:0.0} s after kubectl apply, on {string.Join(", ", placement)}");
        Assert.Equal(NodeNames, placement.Order(StringComparer.Ordinal));

        // Each Pod's address is in its node's range, and every Pod reaches the others across nodes.
        foreach (var pod in pods)
        {
            var node = nodes.First(n => (string)n!["metadata"]!["name"]! == (string)pod["spec"]!["nodeName"]!)!;
            Assert.True(InCidr((string)pod["status"]!["podIP"]!, (string)node["spec"]!["podCIDR"]!), $"{pod["status"]!["podIP"]} not in {node["spec"]!["podCIDR"]}");
            var scheduled = await cluster.KubectlAsync("get", "events", "--field-selector", $"involvedObject.name={pod["metadata"]!["name"]},reason=Scheduled", "-o", "jsonpath={.items[*].message}");
            Assert.Contains($"Successfully assigned default/{pod["metadata"]!["name"]} to {pod["spec"]!["nodeName"]}", scheduled.Output, StringComparison.Ordinal);
        }
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            Assert.Equal(200, (int)(await http.GetAsync(new Uri($"http://{pods[0]["status"]!["podIP"]}:8000/status"))).StatusCode);
        }
        var hop = await cluster.KubectlAsync("exec", (string)pods[0]["metadata"]!["name"]!, "-c", "db", "--", "bash", "-c",
            $"exec 3<>/dev/tcp/{pods[2]["status"]!["podIP"]}/3306 && echo reached");
        Assert.True(hop.ExitCode == 0 && hop.Output.Contains("reached", StringComparison.Ordinal), hop.Transcript);

        // metrics.k8s.io from the containers' cgroups, through the API server's aggregation.
        Result top = default!;
        await Shell.WaitUntilAsync(async () =>
        {
            top = await cluster.KubectlAsync("top", "pods", "-l", SpreadSelector, "--containers");
            return top.ExitCode == 0 && pods.All(p => top.Output.Contains((string)p["metadata"]!["name"]!, StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60), () => $"kubectl top pods: {top.Transcript}");
        Say($"kubectl top pods -l {SpreadSelector} --containers:\n{top.Output}");
        Assert.Matches(@"\s+api\s+\d+m\s+\d+Mi", top.Output);
        Assert.Matches(@"\s+db\s+\d+m\s+\d+Mi", top.Output);
        var topNodes = await cluster.KubectlAsync("top", "nodes");
        Say($"kubectl top nodes:\n{topNodes.Output}");
        Assert.True(topNodes.ExitCode == 0, topNodes.Transcript);
        Assert.All(NodeNames, n => Assert.Matches($@"(?m)^{n}\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", topNodes.Output));
    }

    [Fact(Timeout = 300_000)]
    [Order(2)]
    public async Task DrainingANodeMovesItsPodWithoutAFailedRequestAndAtMostOneUnavailable()
    {
        await WaitForReadyAsync(Spread, 3, TimeSpan.FromSeconds(120));
        var pdb = await cluster.GetJsonAsync("get", "pdb", Spread);
        Assert.Equal(1, (int?)pdb["status"]?["disruptionsAllowed"]);
        var victim = (await PodsAsync(SpreadSelector)).First(p => (string)p["spec"]!["nodeName"]! != "local-cluster");
        var node = (string)victim["spec"]!["nodeName"]!;

        Result drain;
        var watch = Stopwatch.StartNew();
        int lowest, samples, succeeded;
        string[] failures;
        await using (var monitor = new AvailabilityMonitor(cluster, SpreadSelector))
        {
            await using (var requests = new RequestLoop(cluster.IngressUrl, SpreadHost))
            {
                await Shell.WaitUntilAsync(() => Task.FromResult(requests.Succeeded > 5 && monitor.Samples > 0), TimeSpan.FromSeconds(30), () => "requests through the Ingress");
                watch.Restart();
                drain = await Shell.RunAsync("kubectl", ["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=180s"],
                    TimeSpan.FromSeconds(200), KubectlEnv);
                var drained = watch.Elapsed;
                Say($"kubectl drain {node}: exit {drain.ExitCode} after {drained.TotalSeconds:0.0} s:\n{drain.Output}{drain.Error}");
                // The loop goes on until the replacement is Ready and the UserApi is whole again.
                var back = await WaitForReadyAsync(Spread, 3, TimeSpan.FromSeconds(120));
                Say($"drain duration {drained.TotalSeconds:0.0} s; the UserApi had 3 Ready Pods again {watch.Elapsed.TotalSeconds:0.0} s after the drain began");
                succeeded = requests.Succeeded;
                failures = [.. requests.Failures];
            }
            lowest = monitor.Lowest;
            samples = monitor.Samples;
        }
        Say($"requests through the Ingress during the drain: {succeeded} answered 200, {failures.Length} failed; fewest available Pods seen: {lowest} (of 3, {samples} looks)");
        Assert.True(drain.ExitCode == 0, drain.Transcript);
        Assert.Contains($"node/{node} drained", drain.Output, StringComparison.Ordinal);
        Assert.Contains($"pod/{victim["metadata"]!["name"]} evicted", drain.Output, StringComparison.Ordinal);
        Assert.True(failures.Length == 0, string.Join('\n', failures));
        Assert.True(lowest >= 2, $"at one moment only {lowest} Pod(s) were available");

        var pods = await PodsAsync(SpreadSelector);
        Assert.DoesNotContain(pods, p => (string)p["spec"]!["nodeName"]! == node);
        var unschedulable = await cluster.GetJsonAsync("get", "node", node);
        Assert.True((bool?)unschedulable["spec"]!["unschedulable"] == true);
        var uncordon = await cluster.KubectlAsync("uncordon", node);
        Assert.True(uncordon.ExitCode == 0, uncordon.Transcript);
    }

    [Fact(Timeout = 300_000)]
    [Order(3)]
    public async Task ADrainTheBudgetForbidsWaitsWithEvictionsRefusedWhileTheUserApiServes()
    {
        // minAvailable 2 of 2 allows no eviction: the operator makes no budget that would block every
        // drain (PodDisruptionBudgetBuilder), so the one that must hold is applied by hand.
        var patch = await cluster.KubectlAsync("patch", "userapi", Spread, "--type=merge", "-p", """{"spec":{"replicas":2,"disruptionBudget":{"minAvailable":2}}}""");
        Assert.True(patch.ExitCode == 0, patch.Transcript);
        await WaitForReadyAsync(Spread, 2, TimeSpan.FromSeconds(120));
        await Shell.WaitUntilAsync(async () => (await cluster.KubectlAsync("get", "pdb", Spread)).ExitCode != 0, TimeSpan.FromSeconds(60),
            () => "the operator's budget deleted (minAvailable 2 of 2 would allow no eviction)");
        await ApplyAsync($"""
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata:
              name: {Spread}-hold
              namespace: default
            spec:
              minAvailable: 2
              selector:
                matchLabels:
                  app.kubernetes.io/name: user-api
                  app.kubernetes.io/instance: {Spread}
            """);
        JsonNode status = null!;
        await Shell.WaitUntilAsync(async () =>
        {
            status = (await cluster.GetJsonAsync("get", "pdb", $"{Spread}-hold"))["status"] ?? new JsonObject();
            return (int?)status["currentHealthy"] == 2 && (int?)status["expectedPods"] == 2;
        }, TimeSpan.FromSeconds(60), () => $"the disruption controller's status: {status?.ToJsonString()}");
        Assert.Equal(2, (int?)status["desiredHealthy"]);
        Assert.Equal(0, (int?)status["disruptionsAllowed"]);
        Say($"budget {Spread}-hold: {status.ToJsonString()}");

        var node = (string)(await PodsAsync(SpreadSelector))[0]["spec"]!["nodeName"]!;
        Result drain;
        string[] failures;
        int succeeded;
        await using (var requests = new RequestLoop(cluster.IngressUrl, SpreadHost))
        {
            drain = await Shell.RunAsync("kubectl", ["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s"], TimeSpan.FromSeconds(60), KubectlEnv);
            succeeded = requests.Succeeded;
            failures = [.. requests.Failures];
        }
        Say($"kubectl drain {node} --timeout=20s: exit {drain.ExitCode}:\n{Shell.Tail(drain.Output + drain.Error, 12)}");
        Say($"requests during the refused drain: {succeeded} answered 200, {failures.Length} failed");
        Assert.NotEqual(0, drain.ExitCode);
        Assert.Contains("Cannot evict pod as it would violate the pod's disruption budget", drain.Output + drain.Error, StringComparison.Ordinal);
        Assert.True(failures.Length == 0 && succeeded > 0, string.Join('\n', failures));
        var evictions = File.ReadLines(cluster.AuditLog).Where(l => l.Contains("/eviction", StringComparison.Ordinal) && l.Contains("\"verb\":\"create\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(evictions, l => l.Contains("\"code\":429", StringComparison.Ordinal));
        Assert.Equal(2, (await PodsAsync(SpreadSelector)).Count(IsReady));

        Assert.Equal(0, (await cluster.KubectlAsync("uncordon", node)).ExitCode);
        Assert.Equal(0, (await cluster.KubectlAsync("delete", "pdb", $"{Spread}-hold")).ExitCode);
        Assert.Equal(0, (await cluster.KubectlAsync("delete", "userapi", Spread, "--wait=false")).ExitCode);
        await Shell.WaitUntilAsync(async () => (await PodsAsync(SpreadSelector, includeDeleted: true)).Count == 0, TimeSpan.FromSeconds(90), () => "the spread UserApi's Pods gone");
    }

    [Fact(Timeout = 420_000)]
    [Order(4)]
    public async Task UnderLoadTheAutoscalerScalesUpWithin90SecondsAndBackToTwoAfterTheWindow()
    {
        const string name = "autoscale";
        const string host = "autoscale.local";
        const string selector = "app.kubernetes.io/instance=" + name;
        await ApplyAsync(UserApi(name, host, replicas: 2, extra: """
              autoscaling:
                enabled: true
                minReplicas: 2
                maxReplicas: 6
                targetCPUUtilizationPercentage: 50
            """));
        await WaitForReadyAsync(name, 2, TimeSpan.FromSeconds(180));
        Result hpa = default!;
        await Shell.WaitUntilAsync(async () =>
        {
            hpa = await cluster.KubectlAsync("get", "hpa", name);
            return hpa.ExitCode == 0 && System.Text.RegularExpressions.Regex.IsMatch(hpa.Output, @"cpu: \d+%/50%");
        }, TimeSpan.FromSeconds(90), () => $"the autoscaler's figures: {hpa.Transcript}");
        Say($"before the load:\n{hpa.Output}");

        TimeSpan up;
        string during;
        string report;
        var load = Stopwatch.StartNew();
        using (var wrk = new Wrk(new Uri(cluster.IngressUrl, "/users"), host, connections: 16, duration: TimeSpan.FromSeconds(150)))
        {
            up = await Shell.WaitUntilAsync(async () => await SpecReplicasAsync(name) > 2, TimeSpan.FromSeconds(90),
                () => $"a scale up: {cluster.KubectlAsync("describe", "hpa", name).GetAwaiter().GetResult().Output}");
            Say($"scaled up {up.TotalSeconds:0.0} s after the load began (budget 90 s)");
            // Let it go on a little: the figures under load, and the Pods it added Ready.
            await Shell.WaitUntilAsync(async () =>
            {
                var r = await cluster.GetJsonAsync("get", "userapi", name);
                return (int?)r["status"]?["readyReplicas"] >= 3;
            }, TimeSpan.FromSeconds(120), () => "the added Pods Ready");
            // kubectl get hpa's REPLICAS is the status' currentReplicas, which the next sync (15 s) updates.
            during = "";
            await Shell.WaitUntilAsync(async () =>
            {
                during = (await cluster.KubectlAsync("get", "hpa", name)).Output;
                var row = System.Text.RegularExpressions.Regex.Match(during, @"(?m)^autoscale\s+UserApi/autoscale\s+cpu: (\d+)%/50%\s+2\s+6\s+(\d+)");
                return row.Success && int.Parse(row.Groups[2].Value, CultureInfo.InvariantCulture) > 2;
            }, TimeSpan.FromSeconds(60), () => $"kubectl get hpa with more than 2 replicas: {during}");
            report = await wrk.StopAsync();
        }
        Say($"under load ({load.Elapsed.TotalSeconds:0} s of wrk):\n{during}");
        Say($"wrk:\n{report}");
        Assert.Matches(@"cpu: \d+%/50%", during);
        var figures = System.Text.RegularExpressions.Regex.Match(during, @"(?m)^autoscale\s+UserApi/autoscale\s+cpu: (\d+)%/50%\s+2\s+6\s+(\d+)");
        Assert.True(figures.Success, during);
        Assert.True(int.Parse(figures.Groups[1].Value, CultureInfo.InvariantCulture) > 50, during);

        var idle = Stopwatch.StartNew();
        var window = MultiNodeClusterFixture.DownscaleStabilization;
        var down = await Shell.WaitUntilAsync(async () => await SpecReplicasAsync(name) == 2 && (await PodsAsync(selector, includeDeleted: true)).Count == 2,
            window + TimeSpan.FromSeconds(75), () => $"back to 2: {cluster.KubectlAsync("describe", "hpa", name).GetAwaiter().GetResult().Output}");
        Say($"back to 2 Pods {down.TotalSeconds:0.0} s after the load stopped (scale-down stabilization window {window.TotalSeconds:0} s, sync period 15 s)");
        Assert.True(down >= window - TimeSpan.FromSeconds(1), $"scaled down after {down.TotalSeconds:0.0} s, before the {window.TotalSeconds} s window");
        var events = await cluster.KubectlAsync("get", "events", "--field-selector", $"involvedObject.name={name},reason=SuccessfulRescale", "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}");
        Say($"the autoscaler's Events:\n{events.Output}");
        Assert.Contains("above target", events.Output, StringComparison.Ordinal);
        Assert.Contains("below target", events.Output, StringComparison.Ordinal);

        Assert.Equal(0, (await cluster.KubectlAsync("delete", "userapi", name, "--wait=false")).ExitCode);
        await Shell.WaitUntilAsync(async () => (await PodsAsync(selector, includeDeleted: true)).Count == 0, TimeSpan.FromSeconds(90), () => "the autoscaled UserApi's Pods gone");
    }

    [Fact(Timeout = 240_000)]
    [Order(5)]
    public async Task APodThatFitsNoNodeIsPendingWithTheSchedulersReason()
    {
        const string name = "toobig";
        const string selector = "app.kubernetes.io/instance=" + name;
        await ApplyAsync($$"""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata:
              name: {{name}}
              namespace: default
            spec:
              replicas: 1
              api:
                imagePullPolicy: IfNotPresent
                resources:
                  requests: {cpu: "64", memory: 64Mi}
                  limits: {cpu: "64", memory: 256Mi}
              ingress:
                enabled: false
            """);
        JsonNode pod = null!;
        await Shell.WaitUntilAsync(async () =>
        {
            var pods = await PodsAsync(selector);
            pod = pods.FirstOrDefault()!;
            return pod?["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "PodScheduled" && (string?)c["reason"] == "Unschedulable") == true;
        }, TimeSpan.FromSeconds(90), () => $"the Pod unschedulable: {pod?.ToJsonString()}");
        var condition = pod["status"]!["conditions"]!.AsArray().First(c => (string?)c!["type"] == "PodScheduled")!;
        Say($"Pod {pod["metadata"]!["name"]}: phase {pod["status"]!["phase"]}, PodScheduled {condition["status"]} {condition["reason"]}: {condition["message"]}");
        Assert.Equal("Pending", (string?)pod["status"]!["phase"]);
        Assert.Null(pod["spec"]!["nodeName"]);
        Assert.StartsWith("0/3 nodes are available: 3 Insufficient cpu.", (string)condition["message"]!, StringComparison.Ordinal);

        Result events = default!;
        await Shell.WaitUntilAsync(async () =>
        {
            events = await cluster.KubectlAsync("get", "events", "--field-selector", $"involvedObject.name={pod["metadata"]!["name"]},reason=FailedScheduling",
                "-o", "jsonpath={range .items[*]}{.type} {.source.component} {.message}{\"\\n\"}{end}");
            return events.Output.Contains("Insufficient cpu", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), () => events.Transcript);
        Say($"FailedScheduling: {events.Output.Trim()}");
        Assert.StartsWith("Warning default-scheduler 0/3 nodes are available: 3 Insufficient cpu.", events.Output, StringComparison.Ordinal);

        JsonNode ready = null!;
        await Shell.WaitUntilAsync(async () =>
        {
            var u = await cluster.GetJsonAsync("get", "userapi", name);
            ready = u["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == "Ready")!;
            return ready is not null && (string?)ready["status"] == "False" && (string?)ready["reason"] == "Unschedulable";
        }, TimeSpan.FromSeconds(60), () => $"the UserApi not Ready, for the scheduler's reason: {ready?.ToJsonString()}");
        Say($"UserApi {name} Ready {ready["status"]} {ready["reason"]}: {ready["message"]}");
        Assert.StartsWith($"0/1 replicas ready; Pod {pod["metadata"]!["name"]} cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.", (string?)ready["message"], StringComparison.Ordinal);

        Assert.Equal(0, (await cluster.KubectlAsync("delete", "userapi", name, "--wait=false")).ExitCode);
        await Shell.WaitUntilAsync(async () => (await PodsAsync(selector, includeDeleted: true)).Count == 0, TimeSpan.FromSeconds(60), () => "the Pending Pod deleted");
    }

    [Fact(Timeout = 180_000)]
    [Order(6)]
    public async Task AStoppedKubeletsNodeGoesNotReadyAndDownLeavesNothing()
    {
        const string node = "local-cluster-m03";
        var pid = int.Parse(File.ReadAllText(Path.Combine(cluster.StateDir, $"kubelet-{node}.pid")).Trim(), CultureInfo.InvariantCulture);
        using (var kubelet = Process.GetProcessById(pid))
        {
            kubelet.Kill(); // SIGKILL: no clean stop, as a node that dies
            await kubelet.WaitForExitAsync();
        }
        var stopped = Stopwatch.StartNew();
        JsonNode ready = null!;
        await Shell.WaitUntilAsync(async () =>
        {
            ready = (await cluster.GetJsonAsync("get", "node", node))["status"]!["conditions"]!.AsArray().First(c => (string?)c!["type"] == "Ready")!;
            return (string?)ready["status"] == "Unknown";
        }, MultiNodeClusterFixture.NodeMonitorGracePeriod + TimeSpan.FromSeconds(60), () => $"node {node} Ready Unknown: {ready?.ToJsonString()}");
        var nodes = await cluster.KubectlAsync("get", "nodes");
        Say($"kubelet of {node} killed; Ready {ready["status"]} ({ready["reason"]}: {ready["message"]}) after {stopped.Elapsed.TotalSeconds:0.0} s (grace {MultiNodeClusterFixture.NodeMonitorGracePeriod.TotalSeconds:0} s):\n{nodes.Output}");
        Assert.Equal("NodeStatusUnknown", (string?)ready["reason"]);
        Assert.Matches($@"(?m)^{node}\s+NotReady", nodes.Output);
        var taints = (await cluster.GetJsonAsync("get", "node", node))["spec"]!["taints"]?.AsArray().Select(t => (string?)t!["key"]).ToList() ?? [];
        Assert.Contains("node.kubernetes.io/unreachable", taints);

        var down = await cluster.DownAsync();
        Assert.True(down.ExitCode == 0, down.Transcript);
        var namespaces = await Shell.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("lc-", namespaces.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetDirectories("/sys/fs/cgroup"), h => Directory.Exists(Path.Combine(h, "local-cluster")));
        Assert.Empty(KernelView.MountsUnder(cluster.StateDir));
        Assert.False(Directory.Exists(Path.Combine(cluster.StateDir, "nodes")));
        var left = Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Where(d =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(cluster.StateDir, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        }).ToList();
        Assert.Empty(left);
    }

    /// <summary>True when the Pod's Ready condition is True.</summary>
    public static bool IsReady(JsonNode? pod) =>
        pod?["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true;

    private Dictionary<string, string> KubectlEnv => new()
    {
        ["KUBECONFIG"] = cluster.Kubeconfig,
        ["KUBECACHEDIR"] = Path.Combine(cluster.StateDir, "kubectl-cache"),
    };

    private static string UserApi(string name, string host, int replicas, string extra = "") => $$"""
        apiVersion: userapi.example.com/v1alpha1
        kind: UserApi
        metadata:
          name: {{name}}
          namespace: default
        spec:
          replicas: {{replicas}}
          api:
            imagePullPolicy: IfNotPresent
          ingress:
            host: {{host}}
        {{extra}}
        """;

    private async Task ApplyAsync(string yaml)
    {
        var apply = await cluster.KubectlWithInputAsync(yaml, "apply", "-f", "-");
        Assert.True(apply.ExitCode == 0, apply.Transcript + "\n" + yaml);
    }

    private async Task<int?> SpecReplicasAsync(string name) => (int?)(await cluster.GetJsonAsync("get", "userapi", name))["spec"]?["replicas"];

    private async Task<TimeSpan> WaitForReadyAsync(string name, int replicas, TimeSpan timeout) =>
        await Shell.WaitUntilAsync(async () =>
        {
            var pods = await PodsAsync("app.kubernetes.io/instance=" + name);
            if (pods.Count != replicas || !pods.All(IsReady)) return false;
            var u = await cluster.GetJsonAsync("get", "userapi", name);
            return (int?)u["status"]?["readyReplicas"] == replicas
                && u["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true;
        }, timeout, () => $"UserApi {name} Ready with {replicas} Pods: {cluster.KubectlAsync("get", "pods", "-o", "wide").GetAwaiter().GetResult().Output}");

    private async Task<List<JsonNode>> PodsAsync(string selector, bool includeDeleted = false) =>
        [.. (await cluster.GetJsonAsync("get", "pods", "-l", selector))["items"]!.AsArray()
            .Where(p => includeDeleted || p!["metadata"]!["deletionTimestamp"] is null).Select(p => p!)
            .OrderBy(p => (string?)p["metadata"]!["name"], StringComparer.Ordinal)];

    private static bool InCidr(string ip, string cidr)
    {
        var (network, prefix) = (cidr.Split('/')[0], int.Parse(cidr.Split('/')[1], CultureInfo.InvariantCulture));
        static uint Value(string a) => a.Split('.').Aggregate(0u, (v, b) => (v << 8) | uint.Parse(b, CultureInfo.InvariantCulture));
        var mask = uint.MaxValue << (32 - prefix);
        return (Value(ip) & mask) == (Value(network) & mask);
    }

    private void Say(string line)
    {
        output.WriteLine(line);
        cluster.Report(line.Split('\n')[0]);
    }
}
