using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The main job end to end, in order: the operator installed with kubectl apply -k config/default
/// (its manager Pod runs the operator image in-cluster, as its ServiceAccount), kubectl apply of
/// config/samples/userapi.yaml, Pods of runc containers from the node's images, curl through the
/// nginx Ingress; what users read and run (the manager's log with kubectl logs, kubectl exec into a
/// Pod); then what users do to it (kill a process, stop a database, scale, run two managers and kill
/// the leader, change the spec, disable the Ingress, delete it), and the cluster's clean stop. Each
/// step is bounded in time; the budgets are printed.
/// </summary>
[TestCaseOrderer("UserApiOperator.EndToEnd.ByOrder", "EndToEnd")]
public sealed class MainJobTests(OperatorClusterFixture cluster, ITestOutputHelper output) : IClassFixture<OperatorClusterFixture>
{
    private const string Name = "userapi-sample";
    private const string Selector = "app.kubernetes.io/instance=" + Name;
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(1), UseProxy = false })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    [Fact(Timeout = 300_000)]
    [Order(1)]
    public async Task TheSampleReachesReadyWithThreeRealPodsAndTheIngressReturnsTheSeedUsers()
    {
        var apply = await cluster.KubectlAsync("apply", "-f", "config/samples/userapi.yaml");
        Assert.True(apply.ExitCode == 0, apply.Transcript);
        var ready = await WaitForReadyAsync(3, TimeSpan.FromSeconds(180));
        Say($"budget: the sample was Ready {ready.TotalSeconds:0.0} s after kubectl apply (budget 60 s)");

        var pods = await PodsAsync();
        Assert.Equal(3, pods.Count);
        foreach (var pod in pods)
        {
            Assert.Equal("Running", (string?)pod["status"]!["phase"]);
            var ip = (string)pod["status"]!["podIP"]!;
            Assert.StartsWith("10.244.0.", ip, StringComparison.Ordinal);
            Assert.Contains(Netns(pod), await NamespacesAsync());
            Assert.Equal("mariadbd", Comm(Pid(pod, "db")));
            Assert.Equal("dotnet", Comm(Pid(pod, "api")));
            Assert.Contains("userapi.dll", File.ReadAllText($"/proc/{Pid(pod, "api")}/cmdline"), StringComparison.Ordinal);

            // The kernel's view of the operator's security contexts: api restricted (uid 1654 from the
            // image's USER, no capabilities, no_new_privs, seccomp filter, read-only root); db bounded
            // by the five capabilities its entry point needs, MariaDB itself as the image's mysql user.
            var api = Pid(pod, "api");
            Assert.Equal("1654\t1654\t1654\t1654", KernelView.Status(api, "Uid"));
            Assert.Equal(0UL, KernelView.Caps(api, "CapEff"));
            Assert.Equal(0UL, KernelView.Caps(api, "CapBnd"));
            Assert.Equal("1", KernelView.Status(api, "NoNewPrivs"));
            Assert.Equal("2", KernelView.Status(api, "Seccomp"));
            Assert.StartsWith("ro,", KernelView.RootMountOptions(api), StringComparison.Ordinal);
            var db = Pid(pod, "db");
            // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, SETGID 6, SETUID 7
            Assert.Equal((1UL << 0) | (1UL << 1) | (1UL << 3) | (1UL << 6) | (1UL << 7), KernelView.Caps(db, "CapBnd"));
            Assert.Equal("1", KernelView.Status(db, "NoNewPrivs"));
            Assert.NotEqual("0", KernelView.Status(db, "Uid").Split('\t')[0]);
            Assert.Equal("268435456", File.ReadAllText($"/sys/fs/cgroup/memory{KernelView.Cgroup(api, "memory")}/memory.limit_in_bytes").Trim());
        }

        var users = JsonNode.Parse(await GetStringAsync("/users"))!.AsArray();
        Assert.Equal(40, users.Count);
        Assert.Equal("渡辺", (string?)users[7]!["username"]);
        Assert.Equal("""{"user_id":1,"username":"Alice","email":"alice@example.com"}""", await GetStringAsync("/users/1"));
        Assert.Equal("1", await GetStringAsync("/status"));
    }

    [Fact(Timeout = 120_000)]
    [Order(2)]
    public async Task TheManagerReconcilesInARestrictedContainerAsItsServiceAccountAloneAndItsLinesAreReadWithKubectlLogs()
    {
        var managers = await ManagerPodsAsync();
        var manager = Assert.Single(managers);
        var pid = Pid(manager, "manager");
        Assert.Contains("userapi-operator.dll", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);

        // The kernel's view of config/manager's security context and limits.
        Assert.Equal("1654\t1654\t1654\t1654", KernelView.Status(pid, "Uid"));
        Assert.Equal(0UL, KernelView.Caps(pid, "CapEff"));
        Assert.Equal(0UL, KernelView.Caps(pid, "CapBnd"));
        Assert.Equal("1", KernelView.Status(pid, "NoNewPrivs"));
        Assert.Equal("2", KernelView.Status(pid, "Seccomp"));
        Assert.StartsWith("ro,", KernelView.RootMountOptions(pid), StringComparison.Ordinal);
        Assert.StartsWith("rw,", KernelView.Mount(pid, "/tmp")!.Value.Options, StringComparison.Ordinal);
        Assert.Equal("268435456", File.ReadAllText($"/sys/fs/cgroup/memory{KernelView.Cgroup(pid, "memory")}/memory.limit_in_bytes").Trim());
        Assert.Equal("50000", File.ReadAllText($"/sys/fs/cgroup/cpu{KernelView.Cgroup(pid, "cpu")}/cpu.cfs_quota_us").Trim());

        // In-cluster configuration: the kubernetes Service's variables name the API server's Endpoints
        // (no kube-proxy here), and the ServiceAccount token is a read-only projected volume.
        var endpoints = await cluster.GetJsonAsync("-n", "default", "get", "endpoints", "kubernetes");
        var subset = endpoints["subsets"]![0]!;
        var environ = Environ(pid);
        Assert.Contains($"KUBERNETES_SERVICE_HOST={subset["addresses"]![0]!["ip"]}", environ);
        Assert.Contains($"KUBERNETES_SERVICE_PORT={subset["ports"]![0]!["port"]}", environ);
        var token = KernelView.Mount(pid, "/var/run/secrets/kubernetes.io/serviceaccount");
        Assert.True(token is { } t && t.Options.StartsWith("ro,", StringComparison.Ordinal) && t.FsType == "tmpfs", $"token volume: {token}");

        // The API server's audit log: every request of the operator (its user agent) was authenticated
        // as its ServiceAccount, and none of the ServiceAccount's requests was refused.
        var audit = AuditEntries();
        var operatorRequests = audit.Where(e => ((string?)e["userAgent"])?.StartsWith("userapi-operator/", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(operatorRequests);
        Assert.All(operatorRequests, e => Assert.Equal(OperatorClusterFixture.ServiceAccountUser, (string?)e["user"]?["username"]));
        var asServiceAccount = audit.Where(e => (string?)e["user"]?["username"] == OperatorClusterFixture.ServiceAccountUser).ToList();
        var refused = asServiceAccount.Where(e => (int)e["responseStatus"]!["code"]! is 401 or 403).Select(e => $"{e["verb"]} {e["requestURI"]}").ToList();
        Assert.True(refused.Count == 0, $"refused: {string.Join(", ", refused)}");
        Assert.Contains(asServiceAccount, e => (string?)e["verb"] == "patch" && ((string)e["requestURI"]!).StartsWith($"/apis/apps/v1/namespaces/default/deployments/{Name}", StringComparison.Ordinal));
        Assert.Contains(asServiceAccount, e => (string?)e["verb"] == "update" && ((string)e["requestURI"]!).Contains("/leases/", StringComparison.Ordinal));

        // kubectl logs deployment/NAME: the reconcile lines, exactly as the container wrote them.
        var logs = await cluster.ManagerLogsAsync();
        Assert.True(logs.ExitCode == 0, logs.Transcript);
        Assert.Contains($"Reconciled default/{Name}: secret=created deployment=created service=created ingress=created", logs.Output, StringComparison.Ordinal);
        var written = CriLogText(LogFile(manager, "manager", 0));
        var read = logs.Output.TrimEnd('\n').Split('\n');
        Assert.Equal(written.Take(read.Length), read);

        var tail = await cluster.ManagerLogsAsync("--tail=1", "-c", "manager");
        Assert.Equal(CriLogText(LogFile(manager, "manager", 0)).Last(), tail.Output.TrimEnd('\n'));
        var byLabel = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "logs", "-l", OperatorClusterFixture.ManagerSelector, "--tail=-1");
        Assert.Contains($"Reconciled default/{Name}:", byLabel.Output, StringComparison.Ordinal);
        var since = await cluster.ManagerLogsAsync("--since=1h", "--timestamps");
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \d{4}-", since.Output);
        var previous = await cluster.ManagerLogsAsync("--previous");
        Assert.NotEqual(0, previous.ExitCode);
        Assert.Contains("previous terminated container \"manager\"", previous.Error, StringComparison.Ordinal);
        Say($"manager {(string)manager["metadata"]!["name"]!}: uid 1654, no capabilities, read-only root, 256Mi/500m; {operatorRequests.Count} requests as {OperatorClusterFixture.ServiceAccountUser}, none refused; {read.Length} log lines read with kubectl logs");
    }

    [Fact(Timeout = 120_000)]
    [Order(3)]
    public async Task KubectlExecRunsACommandInsideAUserApiContainerAndReturnsItsExitCode()
    {
        // The api image has no shell: its runtime is what there is to run.
        var runtimes = await cluster.KubectlAsync("exec", $"deploy/{Name}", "-c", "api", "--", "dotnet", "--list-runtimes");
        Assert.True(runtimes.ExitCode == 0, runtimes.Transcript);
        Assert.Contains("Microsoft.AspNetCore.App", runtimes.Output, StringComparison.Ordinal);
        var noShell = await cluster.KubectlAsync("exec", $"deploy/{Name}", "-c", "api", "--", "sh", "-c", "true");
        Assert.NotEqual(0, noShell.ExitCode);

        var pod = (await PodsAsync())[0];
        var podName = (string)pod["metadata"]!["name"]!;
        var db = Pid(pod, "db");
        // The command's exit code is kubectl's; it runs in the container's namespaces, as the container's user.
        var seven = await cluster.KubectlAsync("exec", podName, "-c", "db", "--", "sh", "-c", "echo $(hostname) $(id -u) $(readlink /proc/self/ns/mnt) $(cat /proc/1/comm); exit 7");
        Assert.Equal(7, seven.ExitCode);
        Assert.Contains("command terminated with exit code 7", seven.Error, StringComparison.Ordinal);
        var mountNamespace = new FileInfo($"/proc/{db}/ns/mnt").LinkTarget;
        Assert.Equal($"{podName} 0 {mountNamespace} mariadbd", seven.Output.Trim());
        Assert.NotEqual(new FileInfo("/proc/self/ns/mnt").LinkTarget, mountNamespace);

        // -i: standard input reaches the command.
        var echoed = await cluster.KubectlWithInputAsync("from stdin\n", "exec", "-i", podName, "-c", "db", "--", "sh", "-c", "cat; exit 3");
        Assert.Equal(3, echoed.ExitCode);
        Assert.Equal("from stdin\n", echoed.Output);
        Say($"kubectl exec: dotnet in the api container, exit code 7 and stdin through to the db container of {podName}");
    }

    [Fact(Timeout = 120_000)]
    [Order(4)]
    public async Task ThePasswordOfTheGeneratedSecretIsTheOneMariaDbWasInitialisedWithAndBothContainersGetIt()
    {
        var secret = await cluster.GetJsonAsync("get", "secret", $"{Name}-mysql");
        var password = Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]!["MYSQL_PASSWORD"]!));
        Assert.True(password.Length >= 24, "the generated password is long");
        foreach (var pod in await PodsAsync())
        {
            var ip = (string)pod["status"]!["podIP"]!;
            var count = await SqlAsync(ip, password, "SELECT COUNT(*) FROM Main.Users");
            Assert.True(count.ExitCode == 0, count.Transcript);
            Assert.Equal("40", count.Output.Trim());
            var wrong = await SqlAsync(ip, password + "x", "SELECT 1");
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.Contains("Access denied", wrong.Error, StringComparison.Ordinal);

            // Under the names each program reads (kubelet env from secretKeyRef).
            Assert.Contains($"MYSQL_ROOT_PASSWORD={password}", Environ(Pid(pod, "db")));
            Assert.Contains($"MYSQL_PASSWORD={password}", Environ(Pid(pod, "api")));
        }
    }

    [Fact(Timeout = 180_000)]
    [Order(5)]
    public async Task KillingAPodsApiProcessGetsItRestartedAndReadyAgain()
    {
        var pod = (await PodsAsync())[0];
        var podName = (string)pod["metadata"]!["name"]!;
        var pid = Pid(pod, "api");
        Assert.True(Directory.Exists($"/proc/{pid}"), $"the api container's process {pid} runs");
        Process.GetProcessById(pid).Kill();

        var took = await Shell.WaitUntilAsync(async () =>
        {
            var p = await cluster.GetJsonAsync("get", "pod", podName);
            var api = Container(p, "api");
            return (int?)api["restartCount"] >= 1 && (bool?)api["ready"] == true && Pid(p, "api") != pid && IsReady(p);
        }, TimeSpan.FromSeconds(120), () => $"pod {podName} restarted its api container and is Ready");
        Say($"api of {podName} killed: restarted and Ready again after {took.TotalSeconds:0.0} s");
        Assert.False(Directory.Exists($"/proc/{pid}"), "the killed process is gone");
    }

    [Fact(Timeout = 240_000)]
    [Order(6)]
    public async Task APodWhoseDatabaseIsStoppedTurnsUnreadyAndTheIngressKeepsAnsweringFromTheOthers()
    {
        await WaitForReadyAsync(3, TimeSpan.FromSeconds(120));
        var pod = (await PodsAsync())[1];
        var podName = (string)pod["metadata"]!["name"]!;
        var ip = (string)pod["status"]!["podIP"]!;
        var db = Pid(pod, "db");
        var reloads = NginxReloads();
        Assert.Equal(0, (await Shell.RunAsync("kill", ["-STOP", db.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10))).ExitCode);
        try
        {
            var took = await Shell.WaitUntilAsync(async () => !IsReady(await cluster.GetJsonAsync("get", "pod", podName)),
                TimeSpan.FromSeconds(90), () => $"pod {podName} unready with its database stopped");
            Say($"database of {podName} stopped: unready after {took.TotalSeconds:0.0} s");
            List<string?> ready = [];
            await Shell.WaitUntilAsync(async () =>
            {
                var endpoints = await cluster.GetJsonAsync("get", "endpoints", Name);
                ready = endpoints["subsets"]?.AsArray().SelectMany(s => s!["addresses"]?.AsArray() ?? []).Select(a => (string?)a!["ip"]).ToList() ?? [];
                return !ready.Contains(ip) && ready.Count == 2;
            }, TimeSpan.FromSeconds(30), () => $"Endpoints with the two other Pods only; now {string.Join(", ", ready)}");

            // nginx has reloaded a configuration without the Pod: its master logged the reconfiguration
            // and started the new workers. Then, on new connections (an old worker finishes what it
            // holds), every request must be answered by the two others.
            await Shell.WaitUntilAsync(() => Task.FromResult(NginxReloads() > reloads && !File.ReadAllText(NginxFile("nginx.conf")).Contains($"{ip}:", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30), () => "nginx reloaded without the unready Pod");
            using var fresh = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            for (var i = 0; i < 30; i++)
            {
                using var response = await fresh.GetAsync(new Uri(cluster.IngressUrl, "/users/1"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        finally
        {
            await Shell.RunAsync("kill", ["-CONT", db.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        }
        await Shell.WaitUntilAsync(async () => IsReady(await cluster.GetJsonAsync("get", "pod", podName)),
            TimeSpan.FromSeconds(90), () => $"pod {podName} Ready again with its database running");
    }

    [Fact(Timeout = 420_000)]
    [Order(7)]
    public async Task ScalingTheUserApiToFiveGivesFiveAnsweringPods()
    {
        // Through the UserApi's scale subresource, as a user scales it.
        var scale = await cluster.KubectlAsync("scale", "userapi", Name, "--replicas=5");
        Assert.True(scale.ExitCode == 0, scale.Transcript);
        var took = await WaitForReadyAsync(5, TimeSpan.FromSeconds(240));
        Say($"scaled to 5: Ready after {took.TotalSeconds:0.0} s");
        var pods = await PodsAsync();
        Assert.Equal(5, pods.Count);
        foreach (var pod in pods)
        {
            var ip = (string)pod["status"]!["podIP"]!;
            Assert.Equal("""{"user_id":1,"username":"Alice","email":"alice@example.com"}""", await Http.GetStringAsync(new Uri($"http://{ip}:8000/users/1")));
        }
        Assert.Equal(5, pods.Select(p => (string?)p["status"]!["podIP"]).Distinct().Count());

        var back = await cluster.KubectlAsync("patch", "userapi", Name, "--type=merge", "-p", """{"spec":{"replicas":3}}""");
        Assert.True(back.ExitCode == 0, back.Transcript);
        await WaitForReadyAsync(3, TimeSpan.FromSeconds(120));
    }

    [Fact(Timeout = 300_000)]
    [Order(8)]
    public async Task TwoManagerReplicasElectOneLeaderAndKillingTheLeadersContainerHandsOver()
    {
        var scale = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "scale", $"deployment/{OperatorClusterFixture.Manager}", "--replicas=2");
        Assert.True(scale.ExitCode == 0, scale.Transcript);
        List<JsonNode> managers = [];
        await Shell.WaitUntilAsync(async () => (managers = await ManagerPodsAsync()).Count == 2 && managers.All(IsReady),
            TimeSpan.FromSeconds(120), () => $"two ready manager Pods; now {managers.Count}");

        // One leader: the Lease names it, and the other one waits.
        var holder = await LeaseHolderAsync();
        var leader = managers.Single(m => holder.StartsWith((string)m["metadata"]!["name"]! + "_", StringComparison.Ordinal));
        var standby = managers.Single(m => m != leader);
        var (leaderName, standbyName) = ((string)leader["metadata"]!["name"]!, (string)standby["metadata"]!["name"]!);
        await Shell.WaitUntilAsync(async () => (await ManagerLogAsync(standbyName)).Contains($"is held by {holder}", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), () => $"{standbyName} waits for the Lease held by {holder}");
        Assert.DoesNotContain("became leader", await ManagerLogAsync(standbyName), StringComparison.Ordinal);

        // Kill the leader's container: its process, found through runc and the kernel.
        var pid = Pid(leader, "manager");
        Assert.Contains("userapi-operator.dll", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
        var watch = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill();

        // A change made while nobody leads: the new leader must reconcile it.
        var mark = Guid.NewGuid().ToString("N")[..8];
        var patch = await cluster.KubectlAsync("patch", "userapi", Name, "--type=merge", "-p", """{"spec":{"ingress":{"annotations":{"e2e/handover":"MARK"}}}}""".Replace("MARK", mark, StringComparison.Ordinal));
        Assert.True(patch.ExitCode == 0, patch.Transcript);
        // The Lease goes to a new identity, which reconciles the change. Usually that is the standby,
        // which has watched the Lease longest and so sees it expire first (client-go's isLeaseValid
        // counts from when a candidate observed the last renewal); but the killed container restarts
        // in its Pod and campaigns too, with an identity of its own (Pod name and a fresh suffix), and
        // on a busy machine it can be the first to try once the Lease has expired. Either is a
        // correct hand-over: what must not happen is the old identity holding on, or nobody leading.
        var newHolder = "";
        await Shell.WaitUntilAsync(async () =>
        {
            newHolder = await LeaseHolderAsync();
            var ingress = await cluster.GetJsonAsync("get", "ingress", Name);
            return newHolder != holder && (newHolder.StartsWith(standbyName + "_", StringComparison.Ordinal) || newHolder.StartsWith(leaderName + "_", StringComparison.Ordinal))
                && (string?)ingress["metadata"]!["annotations"]?["e2e/handover"] == mark;
        }, TimeSpan.FromSeconds(90), () => $"a new identity holds the Lease (was {holder}, now {newHolder}) and the Ingress carries e2e/handover={mark}");
        var handover = watch.Elapsed;
        Assert.False(Directory.Exists($"/proc/{pid}"), "the killed process is gone");
        var newLeaderName = newHolder.StartsWith(standbyName + "_", StringComparison.Ordinal) ? standbyName : leaderName;
        // Its own log says so (the reconcile's line comes at its end, after the writes seen above).
        var newLeaderLog = "";
        await Shell.WaitUntilAsync(async () =>
        {
            newLeaderLog = await ManagerLogAsync(newLeaderName);
            var became = newLeaderLog.IndexOf($"{newHolder} became leader", StringComparison.Ordinal);
            return became >= 0 && newLeaderLog.IndexOf($"Reconciled default/{Name}:", became, StringComparison.Ordinal) > became;
        }, TimeSpan.FromSeconds(30), () => $"{newLeaderName}'s log: {newHolder} became leader, then a reconcile of {Name}:\n{newLeaderLog}");

        // The killed container restarts; its previous instance's log is still there.
        await Shell.WaitUntilAsync(async () =>
        {
            var p = await cluster.GetJsonAsync("-n", OperatorClusterFixture.Namespace, "get", "pod", leaderName);
            return (int?)Container(p, "manager")["restartCount"] >= 1 && IsReady(p);
        }, TimeSpan.FromSeconds(90), () => $"{leaderName} restarted its manager container");
        var previous = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "logs", leaderName, "--previous");
        Assert.True(previous.ExitCode == 0, previous.Transcript);
        Assert.Contains($"{holder} became leader", previous.Output, StringComparison.Ordinal);
        Say(newLeaderName == standbyName
            ? $"leader {leaderName} killed: the standby {standbyName} took the Lease and reconciled the change {handover.TotalSeconds:0.0} s later (lease 15 s)"
            : $"leader {leaderName} killed: its restarted container ({newHolder}) took the Lease before the standby and reconciled the change {handover.TotalSeconds:0.0} s later (lease 15 s)");

        // Back to one replica: whichever Pod goes, stopped cleanly, releases the Lease if it holds it; the one left leads.
        watch.Restart();
        var one = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "scale", $"deployment/{OperatorClusterFixture.Manager}", "--replicas=1");
        Assert.True(one.ExitCode == 0, one.Transcript);
        await Shell.WaitUntilAsync(async () =>
        {
            managers = await ManagerPodsAsync();
            var h = await LeaseHolderAsync();
            return managers.Count == 1 && h.StartsWith((string)managers[0]["metadata"]!["name"]! + "_", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(90), () => "one manager Pod, holding the Lease");
        Say($"scaled back to one manager: the remaining one leads {watch.Elapsed.TotalSeconds:0.0} s after kubectl scale");
    }

    [Fact(Timeout = 420_000)]
    [Order(9)]
    public async Task ASpecChangeRollsThePodsWithoutTheIngressAnswering5xx()
    {
        var before = (await PodsAsync()).Select(p => (string)p["metadata"]!["name"]!).ToHashSet();
        var codes = new Dictionary<int, int>();
        var errors = new List<string>();
        using var stop = new CancellationTokenSource();
        // Each request on a connection of its own, as separate users' clients: nginx here reloads at
        // every Endpoints change (ingress-nginx updates its upstreams without a reload), and a reload
        // closes the old workers' idle keep-alive connections, so a request written on one at that
        // instant fails with no answer at all. That race belongs to the stand-in Ingress controller,
        // not to the rollout this test is about.
        using var fresh = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var client = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await fresh.GetAsync(new Uri(cluster.IngressUrl, "/users/1"), stop.Token);
                    lock (codes) codes[(int)response.StatusCode] = codes.GetValueOrDefault((int)response.StatusCode) + 1;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (HttpRequestException e)
                {
                    lock (errors) errors.Add($"{e.Message} {e.InnerException?.Message}");
                }
                await Task.Delay(20, CancellationToken.None);
            }
        });

        var patch = await cluster.KubectlAsync("patch", "userapi", Name, "--type=merge", "-p", """{"spec":{"api":{"readinessPath":"/status"}}}""");
        Assert.True(patch.ExitCode == 0, patch.Transcript);
        var took = await Shell.WaitUntilAsync(async () =>
        {
            var pods = await PodsAsync();
            return pods.Count == 3 && pods.All(IsReady) && !pods.Any(p => before.Contains((string)p["metadata"]!["name"]!))
                && pods.All(p => (string?)Container(p, "api", spec: true)["readinessProbe"]!["httpGet"]!["path"] == "/status")
                && await IsUserApiReadyAsync(3);
        }, TimeSpan.FromSeconds(300), () => "three new Pods with readinessPath /status, Ready");
        await stop.CancelAsync();
        await client;

        var summary = string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Value}x{c.Key}"));
        Say($"rolling update done in {took.TotalSeconds:0.0} s; the client loop saw {summary}; {errors.Count} connection errors");
        Assert.True(codes.GetValueOrDefault(200) > 0, summary);
        Assert.DoesNotContain(codes.Keys, c => c >= 500);
        Assert.Empty(errors);
    }

    [Fact(Timeout = 120_000)]
    [Order(10)]
    public async Task AnIngressWithAHostAndATlsSecretIsServedWithTheSecretsCertificate()
    {
        // A certificate for userapi.local in a kubernetes.io/tls Secret, and an Ingress of our own
        // for that host with an Exact path, beside the operator's catch-all one.
        var dir = Path.Combine(cluster.StateDir, "tls");
        Directory.CreateDirectory(dir);
        var (crt, key) = (Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
        var openssl = await Shell.RunAsync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=userapi.local",
            "-addext", "subjectAltName=DNS:userapi.local", "-keyout", key, "-out", crt], TimeSpan.FromSeconds(60));
        Assert.True(openssl.ExitCode == 0, openssl.Transcript);
        var secret = await cluster.KubectlAsync("create", "secret", "tls", "userapi-tls", $"--cert={crt}", $"--key={key}");
        Assert.True(secret.ExitCode == 0, secret.Transcript);
        var manifest = Path.Combine(dir, "ingress.yaml");
        await File.WriteAllTextAsync(manifest, $$$"""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: userapi-tls, namespace: default}
            spec:
              ingressClassName: nginx
              tls: [{hosts: [userapi.local], secretName: userapi-tls}]
              rules:
              - host: userapi.local
                http:
                  paths:
                  - path: /users/2
                    pathType: Exact
                    backend:
                      service:
                        name: {{{Name}}}
                        port: {number: 8000}
            """);
        var apply = await cluster.KubectlAsync("apply", "-f", manifest);
        Assert.True(apply.ExitCode == 0, apply.Transcript);

        var port = cluster.IngressHttpsUrl.Port;
        Result curl = new(0, "", "");
        Task<Result> Curl(string path) => Shell.RunAsync("curl", ["-sS", "--cacert", crt, "--resolve", $"userapi.local:{port}:127.0.0.1",
            "-w", " %{http_code}", $"https://userapi.local:{port}{path}"], TimeSpan.FromSeconds(30));
        await Shell.WaitUntilAsync(async () => (curl = await Curl("/users/2")).ExitCode == 0 && curl.Output.EndsWith(" 200", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), () => $"https://userapi.local/users/2 verified against the Secret's certificate; last: {curl.Transcript}");
        Assert.Equal("""{"user_id":2,"username":"Bob","email":"bob@example.com"} 200""", curl.Output);
        // Exact: no other path of the host's server is routed.
        Assert.EndsWith(" 404", (await Curl("/users/3")).Output, StringComparison.Ordinal);

        var delete = await cluster.KubectlAsync("delete", "ingress", "userapi-tls");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
    }

    [Fact(Timeout = 120_000)]
    [Order(11)]
    public async Task DisablingTheIngressMakesCurlFailWith404FromNginx()
    {
        var patch = await cluster.KubectlAsync("patch", "userapi", Name, "--type=merge", "-p", """{"spec":{"ingress":{"enabled":false}}}""");
        Assert.True(patch.ExitCode == 0, patch.Transcript);
        string body = "";
        await Shell.WaitUntilAsync(async () =>
        {
            using var response = await Http.GetAsync(new Uri(cluster.IngressUrl, "/users/1"));
            body = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.NotFound && response.Headers.Server.ToString().StartsWith("nginx", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), () => $"404 from nginx; last body: {body}");
        Assert.Contains("<center>nginx", body, StringComparison.Ordinal);
        var curl = await Shell.RunAsync("curl", ["-sS", "-f", new Uri(cluster.IngressUrl, "/users/1").ToString()], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, curl.ExitCode);
        Assert.Contains("404", curl.Error, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    [Order(12)]
    public async Task DeletingTheUserApiRemovesEveryPodNamespaceAndProcess()
    {
        var pods = await PodsAsync();
        Assert.NotEmpty(pods);
        var namespaces = pods.Select(Netns).ToList();
        var pids = pods.SelectMany(p => new[] { Pid(p, "db"), Pid(p, "api") }).ToList();

        var delete = await cluster.KubectlAsync("delete", "userapi", Name);
        Assert.True(delete.ExitCode == 0, delete.Transcript);
        var took = await Shell.WaitUntilAsync(async () =>
            (await PodsAsync()).Count == 0
            && !(await NamespacesAsync()).Intersect(namespaces).Any()
            && pids.All(pid => !Directory.Exists($"/proc/{pid}")),
            TimeSpan.FromSeconds(120), () => "no Pod, namespace or process of the UserApi left");
        Say($"UserApi deleted: Pods, namespaces and processes gone after {took.TotalSeconds:0.0} s");
        var deployments = await cluster.GetJsonAsync("get", "deployments");
        Assert.Empty(deployments["items"]!.AsArray());
    }

    [Fact(Timeout = 120_000)]
    [Order(13)]
    public async Task AnImageTheNodeDoesNotHaveLeavesThePodWaitingInErrImagePullAndTheUserApiSaysWhy()
    {
        var manifest = Path.Combine(cluster.StateDir, "nosuch.yaml");
        await File.WriteAllTextAsync(manifest, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: nosuch, namespace: default}
            spec:
              replicas: 1
              selector: {matchLabels: {app: nosuch}}
              template:
                metadata: {labels: {app: nosuch}}
                spec:
                  containers:
                  - name: main
                    image: registry.example.com/nosuch:1.0
            """);
        var apply = await cluster.KubectlAsync("apply", "-f", manifest);
        Assert.True(apply.ExitCode == 0, apply.Transcript);
        string podName = "";
        await Shell.WaitUntilAsync(async () =>
        {
            var pods = (await cluster.GetJsonAsync("get", "pods", "-l", "app=nosuch"))["items"]!.AsArray();
            if (pods.Count != 1) return false;
            podName = (string)pods[0]!["metadata"]!["name"]!;
            return (string?)Container(pods[0]!, "main")["state"]?["waiting"]?["reason"] is "ErrImagePull" or "ImagePullBackOff";
        }, TimeSpan.FromSeconds(60), () => "the Pod waiting with ErrImagePull or ImagePullBackOff");
        var describe = await cluster.KubectlAsync("describe", "pod", podName);
        Assert.True(describe.ExitCode == 0, describe.Transcript);
        Assert.Contains("ErrImagePull", describe.Output, StringComparison.Ordinal); // the Event, whichever the state
        Assert.Contains("registry.example.com/nosuch:1.0", describe.Output, StringComparison.Ordinal);

        var delete = await cluster.KubectlAsync("delete", "deployment", "nosuch");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
        await Shell.WaitUntilAsync(async () => (await cluster.GetJsonAsync("get", "pods", "-l", "app=nosuch"))["items"]!.AsArray().Count == 0,
            TimeSpan.FromSeconds(60), () => "the Pod deleted with its Deployment");

        // A UserApi whose api image the node cannot pull says so in its Ready condition.
        var userApi = Path.Combine(cluster.StateDir, "noimage.yaml");
        await File.WriteAllTextAsync(userApi, """
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: noimage, namespace: default}
            spec:
              replicas: 1
              api: {image: "registry.example.com/nosuch:1.0"}
              ingress: {enabled: false}
            """);
        apply = await cluster.KubectlAsync("apply", "-f", userApi);
        Assert.True(apply.ExitCode == 0, apply.Transcript);
        JsonNode? ready = null;
        await Shell.WaitUntilAsync(async () =>
        {
            ready = (await cluster.GetJsonAsync("get", "userapi", "noimage"))["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == "Ready");
            return (string?)ready?["reason"] is "ErrImagePull" or "ImagePullBackOff";
        }, TimeSpan.FromSeconds(60), () => $"the UserApi's Ready condition naming the image pull: {ready?.ToJsonString()}");
        Say($"UserApi noimage Ready {ready!["status"]} {ready["reason"]}: {ready["message"]}");
        Assert.Equal("False", (string?)ready["status"]);
        Assert.Matches(@"^0/1 replicas ready; container api of Pod noimage-[a-z0-9]+-[a-z0-9]+ is waiting: (ErrImagePull|ImagePullBackOff): .*registry\.example\.com/nosuch:1\.0", (string?)ready["message"]);
        delete = await cluster.KubectlAsync("delete", "userapi", "noimage");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
        await Shell.WaitUntilAsync(async () => (await cluster.GetJsonAsync("get", "pods", "-l", "app.kubernetes.io/instance=noimage"))["items"]!.AsArray().Count == 0,
            TimeSpan.FromSeconds(60), () => "the UserApi's Pod deleted with it");
    }

    [Fact(Timeout = 120_000)]
    [Order(14)]
    public async Task APodRefusedForAServiceAccountNotThereYetIsCreatedOnceItIs()
    {
        // The Pod's image is never pulled (Never, and the node lacks it): only its creation matters here.
        var manifest = Path.Combine(cluster.StateDir, "late-sa.yaml");
        await File.WriteAllTextAsync(manifest, """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: late-sa, namespace: default}
            spec:
              replicas: 1
              selector: {matchLabels: {app: late-sa}}
              template:
                metadata: {labels: {app: late-sa}}
                spec:
                  serviceAccountName: late
                  containers:
                  - name: main
                    image: registry.example.com/nosuch:1.0
                    imagePullPolicy: Never
            """);
        var apply = await cluster.KubectlAsync("apply", "-f", manifest);
        Assert.True(apply.ExitCode == 0, apply.Transcript);
        JsonNode? refusal = null;
        await Shell.WaitUntilAsync(async () =>
        {
            var events = await cluster.GetJsonAsync("get", "events", "--field-selector", "involvedObject.name=late-sa,reason=FailedCreate");
            refusal = events["items"]!.AsArray().FirstOrDefault();
            return refusal is not null;
        }, TimeSpan.FromSeconds(60), () => "a FailedCreate Event on the Deployment");
        Assert.Matches(@"^Error creating: pods ""late-sa-\w+-"" is forbidden: error looking up service account default/late: serviceaccount ""late"" not found$", (string)refusal!["message"]!);
        Assert.Equal("Warning", (string?)refusal["type"]);
        Assert.Empty((await cluster.GetJsonAsync("get", "pods", "-l", "app=late-sa"))["items"]!.AsArray());

        var account = await cluster.KubectlAsync("create", "serviceaccount", "late");
        Assert.True(account.ExitCode == 0, account.Transcript);
        var took = await Shell.WaitUntilAsync(async () =>
            (await cluster.GetJsonAsync("get", "pods", "-l", "app=late-sa"))["items"]!.AsArray()
                .Any(p => (string?)p!["spec"]!["serviceAccountName"] == "late"),
            TimeSpan.FromSeconds(60), () => "the Pod created once its ServiceAccount exists");
        Say($"a Pod refused for its missing ServiceAccount (FailedCreate) was created {took.TotalSeconds:0.0} s after the ServiceAccount");

        Assert.Equal(0, (await cluster.KubectlAsync("delete", "deployment", "late-sa")).ExitCode);
        Assert.Equal(0, (await cluster.KubectlAsync("delete", "serviceaccount", "late")).ExitCode);
        await Shell.WaitUntilAsync(async () => (await cluster.GetJsonAsync("get", "pods", "-l", "app=late-sa"))["items"]!.AsArray().Count == 0,
            TimeSpan.FromSeconds(60), () => "the Pod deleted with its Deployment");
    }

    [Fact(Timeout = 120_000)]
    [Order(15)]
    public async Task DownLeavesNoProcessNamespaceBridgeOrPortBehind()
    {
        var down = await cluster.DownAsync();
        Assert.True(down.ExitCode == 0, down.Transcript);
        Assert.DoesNotContain(await NamespacesAsync(), n => n.StartsWith("lc-", StringComparison.Ordinal));
        Assert.Empty(await KernelView.RuncIdsAsync(cluster.StateDir));
        Assert.Empty(KernelView.MountsUnder(cluster.StateDir));
        Assert.DoesNotContain(Directory.GetDirectories("/sys/fs/cgroup"), h => Directory.Exists(Path.Combine(h, "local-cluster")));
        Assert.NotEqual(0, (await Shell.RunAsync("ip", ["link", "show", "uapi0"], TimeSpan.FromSeconds(10))).ExitCode);
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
        Assert.All(Directory.GetFileSystemEntries(cluster.StateDir), f => Assert.EndsWith(".log", f, StringComparison.Ordinal));
        using var tcp = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => tcp.ConnectAsync("127.0.0.1", cluster.IngressUrl.Port));
    }

    private void Say(string line)
    {
        output.WriteLine(line);
        cluster.Report(line);
    }

    /// <summary>The manager's Pods that are not being deleted.</summary>
    private async Task<List<JsonNode>> ManagerPodsAsync() =>
        [.. (await cluster.GetJsonAsync("-n", OperatorClusterFixture.Namespace, "get", "pods", "-l", OperatorClusterFixture.ManagerSelector))["items"]!.AsArray()
            .Where(p => p!["metadata"]!["deletionTimestamp"] is null).Select(p => p!)];

    /// <summary>The holder of the manager's Lease (empty when released or missing).</summary>
    private async Task<string> LeaseHolderAsync()
    {
        var lease = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "get", "lease", "userapi-operator-leader", "-o", "jsonpath={.spec.holderIdentity}");
        return lease.ExitCode == 0 ? lease.Output.Trim() : "";
    }

    /// <summary>One manager Pod's log, through kubectl logs.</summary>
    private async Task<string> ManagerLogAsync(string pod)
    {
        var logs = await cluster.KubectlAsync("-n", OperatorClusterFixture.Namespace, "logs", pod);
        return logs.ExitCode == 0 ? logs.Output : logs.Transcript;
    }

    /// <summary>The API server's audit log, one JSON object per request (a line still being written is skipped).</summary>
    private List<JsonNode> AuditEntries()
    {
        var entries = new List<JsonNode>();
        using var stream = new FileStream(cluster.AuditLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            try
            {
                if (JsonNode.Parse(line) is { } entry) entries.Add(entry);
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        return entries;
    }

    /// <summary>A container instance's log file, where the kubelet keeps it: &lt;state&gt;/pods/&lt;ns&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;n&gt;.log.</summary>
    private string LogFile(JsonNode pod, string container, int instance) =>
        Path.Combine(cluster.StateDir, "pods", $"{pod["metadata"]!["namespace"]}_{pod["metadata"]!["name"]}_{pod["metadata"]!["uid"]}", container, $"{instance}.log");

    /// <summary>The lines of a CRI log file as the container wrote them (partial entries joined, the time and stream dropped).</summary>
    private static List<string> CriLogText(string file)
    {
        var lines = new List<string>();
        var partial = new StringBuilder();
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } entry)
        {
            var fields = entry.Split(' ', 4);
            if (fields.Length < 4) continue;
            partial.Append(fields[3]);
            if (fields[2] == "F")
            {
                lines.Add(partial.ToString());
                partial.Clear();
            }
        }
        return lines;
    }

    private async Task<TimeSpan> WaitForReadyAsync(int replicas, TimeSpan timeout)
    {
        return await Shell.WaitUntilAsync(async () =>
        {
            var pods = await PodsAsync();
            return pods.Count == replicas && pods.All(IsReady) && await IsUserApiReadyAsync(replicas);
        }, timeout, () => $"UserApi {Name} Ready with {replicas} ready Pods; the manager's log:\n{ManagerLogTail()}\nkubelet log:\n{Shell.Tail(File.ReadAllText(Path.Combine(cluster.StateDir, "kubelet.log")))}");
    }

    /// <summary>The last lines of the manager's log, through kubectl logs, for failure messages.</summary>
    private string ManagerLogTail()
    {
        var logs = cluster.ManagerLogsAsync("--tail=30").GetAwaiter().GetResult();
        return logs.ExitCode == 0 ? logs.Output : logs.Transcript;
    }

    private async Task<bool> IsUserApiReadyAsync(int replicas)
    {
        var u = await cluster.GetJsonAsync("get", "userapi", Name);
        return (int?)u["status"]?["readyReplicas"] == replicas
            && u["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true;
    }

    /// <summary>The UserApi's Pods that are not being deleted.</summary>
    private async Task<List<JsonNode>> PodsAsync() =>
        [.. (await cluster.GetJsonAsync("get", "pods", "-l", Selector))["items"]!.AsArray()
            .Where(p => p!["metadata"]!["deletionTimestamp"] is null).Select(p => p!)
            .OrderBy(p => (string?)p["metadata"]!["name"], StringComparer.Ordinal)];

    private static bool IsReady(JsonNode pod) =>
        pod["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Ready" && (string?)c["status"] == "True") == true;

    private static JsonNode Container(JsonNode pod, string name, bool spec = false) =>
        (spec ? pod["spec"]!["containers"] : pod["status"]!["containerStatuses"])!.AsArray().First(c => (string?)c!["name"] == name)!;

    /// <summary>The init pid of a container, from runc's state of the id in its containerID (runc://ID), the kubelet's contract.</summary>
    private int Pid(JsonNode pod, string container) =>
        KernelView.PidAsync(cluster.StateDir, KernelView.ContainerId(Container(pod, container))).GetAwaiter().GetResult();

    /// <summary>The Pod's network namespace: lc- and the first 10 hex digits of its uid (the kubelet's contract).</summary>
    private static string Netns(JsonNode pod) => "lc-" + ((string)pod["metadata"]!["uid"]!).Replace("-", "", StringComparison.Ordinal)[..10];

    private static async Task<List<string>> NamespacesAsync()
    {
        var r = await Shell.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10));
        return [.. r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
    }

    private static string Comm(int pid) => File.ReadAllText($"/proc/{pid}/comm").Trim();

    private static List<string> Environ(int pid) => [.. File.ReadAllText($"/proc/{pid}/environ").Split('\0')];

    private static Task<Result> SqlAsync(string host, string password, string sql) =>
        Shell.RunAsync("mariadb", ["--no-defaults", "--protocol=TCP", "-h", host, "-uroot", "--batch", "--skip-column-names", "-e", sql],
            TimeSpan.FromSeconds(30), new Dictionary<string, string> { ["MYSQL_PWD"] = password });

    private async Task<string> GetStringAsync(string path)
    {
        using var response = await Http.GetAsync(new Uri(cluster.IngressUrl, path));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private string NginxFile(string name) => Path.Combine(cluster.StateDir, "nginx", name);

    /// <summary>Reconfigurations nginx's master has completed: "start worker processes" lines after a "reconfiguring" one in its error log.</summary>
    private int NginxReloads()
    {
        var reloads = 0;
        var reconfiguring = false;
        foreach (var line in File.ReadLines(NginxFile("error.log")))
        {
            if (line.Contains("reconfiguring", StringComparison.Ordinal))
            {
                reconfiguring = true;
            }
            else if (reconfiguring && line.Contains("start worker process", StringComparison.Ordinal))
            {
                reloads++;
                reconfiguring = false;
            }
        }

        return reloads;
    }
}
