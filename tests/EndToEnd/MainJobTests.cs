using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The main job end to end, in order: kubectl apply of config/samples/userapi.yaml, the real operator,
/// Pods of runc containers from the node's images, curl through the nginx Ingress; then what users do to it (kill a process,
/// stop a database, scale, change the spec, disable the Ingress, delete it), and the cluster's
/// clean stop. Each step is bounded in time; the budgets are printed.
/// </summary>
[TestCaseOrderer("UserApiOperator.EndToEnd.ByOrder", "EndToEnd")]
public sealed class MainJobTests(LocalClusterFixture cluster, ITestOutputHelper output) : IClassFixture<LocalClusterFixture>
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
    [Order(3)]
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
    [Order(4)]
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
    [Order(5)]
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

    [Fact(Timeout = 420_000)]
    [Order(6)]
    public async Task ASpecChangeRollsThePodsWithoutTheIngressAnswering5xx()
    {
        var before = (await PodsAsync()).Select(p => (string)p["metadata"]!["name"]!).ToHashSet();
        var codes = new Dictionary<int, int>();
        var errors = new List<string>();
        using var stop = new CancellationTokenSource();
        var client = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await Http.GetAsync(new Uri(cluster.IngressUrl, "/users/1"), stop.Token);
                    lock (codes) codes[(int)response.StatusCode] = codes.GetValueOrDefault((int)response.StatusCode) + 1;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (HttpRequestException e)
                {
                    lock (errors) errors.Add(e.Message);
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
    [Order(7)]
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
    [Order(8)]
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
    [Order(9)]
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
    [Order(10)]
    public async Task AnImageTheNodeDoesNotHaveLeavesThePodWaitingInErrImagePull()
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
    }

    [Fact(Timeout = 120_000)]
    [Order(11)]
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

    private async Task<TimeSpan> WaitForReadyAsync(int replicas, TimeSpan timeout)
    {
        return await Shell.WaitUntilAsync(async () =>
        {
            if (!cluster.OperatorRunning) throw new InvalidOperationException($"the operator exited:\n{Shell.Tail(await File.ReadAllTextAsync(cluster.OperatorLog))}");
            var pods = await PodsAsync();
            return pods.Count == replicas && pods.All(IsReady) && await IsUserApiReadyAsync(replicas);
        }, timeout, () => $"UserApi {Name} Ready with {replicas} ready Pods; kubelet log:\n{Shell.Tail(File.ReadAllText(Path.Combine(cluster.StateDir, "kubelet.log")))}");
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
