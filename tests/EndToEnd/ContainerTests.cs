using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// The kubelet's containers as the kernel sees them: Pods written by hand, from small busybox
/// images the test writes and loads (<see cref="TestImages"/>), checked through runc and /proc
/// (uid, capabilities, no_new_privs, seccomp, the root mount, cgroup files), not through the
/// kubelet's own report. In order: security, capabilities, limits and OOM, runAsNonRoot, pull
/// policies, volumes, deletion leaving nothing, and last a kubelet killed with SIGKILL followed by
/// <c>hack/local-cluster.sh down</c> leaving nothing.
/// </summary>
[TestCaseOrderer("UserApiOperator.EndToEnd.ByOrder", "EndToEnd")]
public sealed class ContainerTests(OperatorClusterFixture cluster, ITestOutputHelper output) : IClassFixture<OperatorClusterFixture>
{
    private static readonly SemaphoreSlim Loaded = new(1, 1);
    private static bool _loaded;

    [Fact(Timeout = 180_000)]
    [Order(1)]
    public async Task ARestrictedContainerRunsAsTheImagesNonRootUserWithNoCapabilitiesNoNewPrivsSeccompAndAReadOnlyRoot()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: restricted, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              securityContext: {seccompProfile: {type: RuntimeDefault}}
              containers:
              - name: main
                image: lc-test/busybox:nonroot
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'echo started as $(id -u); exec sleep 3600']
                env: [{name: FROM_POD, value: "$(FROM_IMAGE)-too"}]
                securityContext:
                  runAsNonRoot: true
                  readOnlyRootFilesystem: true
                  allowPrivilegeEscalation: false
                  capabilities: {drop: [ALL]}
                volumeMounts: [{name: tmp, mountPath: /tmp}]
              volumes: [{name: tmp, emptyDir: {}}]
            """);
        var (id, pid) = await RunningAsync("restricted", "main");

        Assert.Equal("1654\t1654\t1654\t1654", KernelView.Status(pid, "Uid"));
        Assert.Equal("1654\t1654\t1654\t1654", KernelView.Status(pid, "Gid"));
        Assert.Equal(0UL, KernelView.Caps(pid, "CapEff"));
        Assert.Equal(0UL, KernelView.Caps(pid, "CapBnd"));
        Assert.Equal("1", KernelView.Status(pid, "NoNewPrivs"));
        Assert.Equal("2", KernelView.Status(pid, "Seccomp")); // SECCOMP_MODE_FILTER
        Assert.StartsWith("ro,", KernelView.RootMountOptions(pid), StringComparison.Ordinal);
        Assert.StartsWith("rw,", KernelView.Mount(pid, "/tmp")!.Value.Options, StringComparison.Ordinal);
        // The image's ENV is there, but $(VAR) in the Pod's env sees only the Pod's own variables.
        var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
        Assert.Contains("FROM_IMAGE=yes", environ);
        Assert.Contains("FROM_POD=$(FROM_IMAGE)-too", environ);
        Assert.Contains("HOSTNAME=restricted", environ);

        // Inside: the root refuses writes, the emptyDir takes them, the hostname is the Pod's.
        var root = await ExecAsync(id, "touch", "/written");
        Assert.NotEqual(0, root.ExitCode);
        Assert.Contains("Read-only file system", root.Output + root.Error, StringComparison.Ordinal);
        Assert.Equal(0, (await ExecAsync(id, "touch", "/tmp/written")).ExitCode);
        Assert.Equal("restricted", (await ExecAsync(id, "hostname")).Output.Trim());
        var hosts = (await ExecAsync(id, "cat", "/etc/hosts")).Output;
        var pod = await cluster.GetJsonAsync("get", "pod", "restricted");
        Assert.Contains($"{(string)pod["status"]!["podIP"]!}\trestricted", hosts, StringComparison.Ordinal);

        // Its output in the CRI log format, where the kubelet keeps it.
        var log = LogFile(pod, "main", 0);
        await Shell.WaitUntilAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains(" stdout F started as 1654\n", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), () => $"{log} holds the container's first line; it has: {(File.Exists(log) ? File.ReadAllText(log) : "(no file)")}");
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stdout F started as 1654$", File.ReadAllLines(log)[0]);
        Say($"restricted container {id}: uid 1654, CapEff 0, NoNewPrivs 1, Seccomp 2, root {KernelView.RootMountOptions(pid)}");
    }

    [Fact(Timeout = 180_000)]
    [Order(2)]
    public async Task AnAddedCapabilityIsHeldAndAnEntrypointThatNeedsAMissingOneFailsVisibly()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: caps, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: with-chown
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'touch /tmp/f && chown 1654:1654 /tmp/f && echo chowned && exec sleep 3600']
                securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [CHOWN]}}
              - name: without-chown
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'touch /tmp/f && chown 1654:1654 /tmp/f && echo chowned && exec sleep 3600']
                securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [FOWNER]}}
            """);
        var (_, pid) = await RunningAsync("caps", "with-chown");
        Assert.Equal(1UL << 0, KernelView.Caps(pid, "CapEff")); // CAP_CHOWN is bit 0
        Assert.Equal(1UL << 0, KernelView.Caps(pid, "CapBnd"));
        Assert.Equal("0\t0\t0\t0", KernelView.Status(pid, "Uid"));

        JsonNode? status = null;
        var log = "";
        await Shell.WaitUntilAsync(async () =>
        {
            var pod = await cluster.GetJsonAsync("get", "pod", "caps");
            status = Container(pod, "without-chown");
            if ((int?)status["restartCount"] < 1 || status["lastState"]?["terminated"] is not { } last) return false;
            // The run's log stays until the run after next starts: a busy machine may need another look.
            var file = LastRunLog(pod, last);
            log = File.Exists(file) ? File.ReadAllText(file) : "";
            return log.Length > 0;
        }, TimeSpan.FromSeconds(60), () => $"without-chown exited and restarted, its log read; status {status?.ToJsonString()}");
        var terminated = status!["lastState"]!["terminated"]!;
        Assert.Equal(1, (int)terminated["exitCode"]!);
        Assert.Equal("Error", (string?)terminated["reason"]);
        Assert.Contains("stderr F chown: /tmp/f: Operation not permitted", log, StringComparison.Ordinal);
        Say("with CHOWN the entry point runs (CapEff 0x1); with FOWNER only, chown fails: exit 1, Error, restarted");
    }

    [Fact(Timeout = 180_000)]
    [Order(3)]
    public async Task LimitsAreTheCgroupsAndATinyMemoryLimitIsOomKilledAndRestarted()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: limits, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: limited
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sleep, "3600"]
                resources: {requests: {cpu: 100m, memory: 16Mi}, limits: {cpu: 250m, memory: 32Mi}}
              - name: hog
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'echo allocating 64 MiB; exec dd if=/dev/zero of=/dev/null bs=64M count=1']
                resources: {limits: {memory: 16Mi}}
            """);
        var (_, pid) = await RunningAsync("limits", "limited");
        var memory = Path.Combine("/sys/fs/cgroup/memory", KernelView.Cgroup(pid, "memory").TrimStart('/'));
        var cpu = Path.Combine("/sys/fs/cgroup/cpu", KernelView.Cgroup(pid, "cpu").TrimStart('/'));
        Assert.Equal("33554432", File.ReadAllText(Path.Combine(memory, "memory.limit_in_bytes")).Trim());
        Assert.Equal("25000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_quota_us")).Trim());
        Assert.Equal("100000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_period_us")).Trim());
        Assert.Equal("102", File.ReadAllText(Path.Combine(cpu, "cpu.shares")).Trim());
        Assert.EndsWith("/limited", KernelView.Cgroup(pid, "memory"), StringComparison.Ordinal);

        JsonNode? hog = null;
        await Shell.WaitUntilAsync(async () =>
        {
            hog = Container(await cluster.GetJsonAsync("get", "pod", "limits"), "hog");
            return (int?)hog["restartCount"] >= 1 && hog["lastState"]?["terminated"] is not null;
        }, TimeSpan.FromSeconds(90), () => $"hog OOM-killed and restarted; status {hog?.ToJsonString()}");
        var terminated = hog!["lastState"]!["terminated"]!;
        Assert.Equal("OOMKilled", (string?)terminated["reason"]);
        Assert.Equal(137, (int)terminated["exitCode"]!);
        Say($"memory limit 32Mi, quota 25000/100000, shares 102 in the cgroup files; the 16Mi hog: {terminated["reason"]} {terminated["exitCode"]}, restarts {hog["restartCount"]}");
    }

    [Fact(Timeout = 120_000)]
    [Order(4)]
    public async Task RunAsNonRootRefusesAnImageThatRunsAsRootOrAsANamedUser()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: nonroot-refused, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              securityContext: {runAsNonRoot: true}
              containers:
              - name: root
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sleep, "3600"]
              - name: named
                image: lc-test/busybox:named
                imagePullPolicy: IfNotPresent
                command: [sleep, "3600"]
              - name: numeric
                image: lc-test/busybox:nonroot
                imagePullPolicy: IfNotPresent
                command: [sleep, "3600"]
            """);
        JsonNode pod = new JsonObject();
        await Shell.WaitUntilAsync(async () =>
        {
            pod = await cluster.GetJsonAsync("get", "pod", "nonroot-refused");
            return (string?)Container(pod, "root")["state"]?["waiting"]?["reason"] == "CreateContainerConfigError"
                && (string?)Container(pod, "named")["state"]?["waiting"]?["reason"] == "CreateContainerConfigError"
                && Container(pod, "numeric")["state"]?["running"] is not null;
        }, TimeSpan.FromSeconds(60), () => $"root and named refused, numeric running: {pod["status"]?.ToJsonString()}");
        var podName = $"nonroot-refused_default({(string)pod["metadata"]!["uid"]!})";
        Assert.Equal($"container has runAsNonRoot and image will run as root (pod: \"{podName}\", container: root)",
            (string?)Container(pod, "root")["state"]!["waiting"]!["message"]);
        Assert.Equal($"container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"{podName}\", container: named)",
            (string?)Container(pod, "named")["state"]!["waiting"]!["message"]);
        Assert.Equal(0, await KernelView.PidAsync(cluster.StateDir, $"{Uid(pod).Replace("-", "", StringComparison.Ordinal)[..10]}-root-0"));
        var describe = await cluster.KubectlAsync("describe", "pod", "nonroot-refused");
        Assert.Contains("CreateContainerConfigError", describe.Output, StringComparison.Ordinal);
        await DeleteAsync("nonroot-refused");
    }

    [Fact(Timeout = 120_000)]
    [Order(5)]
    public async Task PullPoliciesBehaveAsOnAKindNodeWithLoadedImages()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: pulls, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: always
                image: lc-test/busybox:root
                imagePullPolicy: Always
                command: [sleep, "3600"]
              - name: never-absent
                image: lc-test/busybox:absent
                imagePullPolicy: Never
                command: [sleep, "3600"]
              - name: absent
                image: registry.example.com/nosuch:1.0
                command: [sleep, "3600"]
              - name: no-entrypoint
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [/no/such/program]
            """);
        JsonNode pod = new JsonObject();
        string? Reason(string c) => (string?)Container(pod, c)["state"]?["waiting"]?["reason"];
        await Shell.WaitUntilAsync(async () =>
        {
            pod = await cluster.GetJsonAsync("get", "pod", "pulls");
            return Reason("always") is "ErrImagePull" or "ImagePullBackOff" && Reason("never-absent") == "ErrImageNeverPull"
                && Reason("absent") is "ErrImagePull" or "ImagePullBackOff"
                && Reason("no-entrypoint") is "RunContainerError" or "CrashLoopBackOff"
                && (string?)Container(pod, "no-entrypoint")["lastState"]?["terminated"]?["reason"] == "StartError";
        }, TimeSpan.FromSeconds(60), () => $"Always fails to pull, Never without the image refuses, runc cannot start a missing entry point: {pod["status"]?.ToJsonString()}");
        // runc's own message, as containerd passes it on.
        var startError = Container(pod, "no-entrypoint")["lastState"]!["terminated"]!;
        Assert.Equal(128, (int)startError["exitCode"]!);
        Assert.Contains("exec: \"/no/such/program\": stat /no/such/program: no such file or directory", (string?)startError["message"], StringComparison.Ordinal);
        Assert.Equal("Container image \"lc-test/busybox:absent\" is not present with pull policy of Never", (string?)Container(pod, "never-absent")["state"]!["waiting"]!["message"]);
        Assert.Contains("docker.io/lc-test/busybox:root", (string?)Container(pod, "always")["state"]!["waiting"]!["message"], StringComparison.Ordinal);
        await DeleteAsync("pulls");
    }

    [Fact(Timeout = 180_000)]
    [Order(6)]
    public async Task VolumesAreMountedAndDeletingThePodLeavesNoContainerProcessMountCgroupOrNamespace()
    {
        var secret = await cluster.KubectlAsync("create", "secret", "generic", "volume-secret", "--from-literal=password=s3cret", "--from-literal=other=x");
        Assert.True(secret.ExitCode == 0, secret.Transcript);
        var configMap = await cluster.KubectlAsync("create", "configmap", "volume-config", "--from-literal=greeting=hello");
        Assert.True(configMap.ExitCode == 0, configMap.Transcript);

        // The kubernetes Service's variables come from the Endpoints default/kubernetes (the API
        // server's address; made here when the API server does not keep one).
        if ((await cluster.KubectlAsync("get", "endpoints", "kubernetes", "-n", "default")).ExitCode != 0)
        {
            var file = Path.Combine(cluster.StateDir, "kubernetes-endpoints.yaml");
            await File.WriteAllTextAsync(file, """
                apiVersion: v1
                kind: Endpoints
                metadata: {name: kubernetes, namespace: default}
                subsets: [{addresses: [{ip: 10.244.0.1}], ports: [{name: https, port: 6443, protocol: TCP}]}]
                """);
            var created = await cluster.KubectlAsync("apply", "-f", file);
            Assert.True(created.ExitCode == 0, created.Transcript);
        }
        var master = await cluster.GetJsonAsync("get", "endpoints", "kubernetes", "-n", "default");
        var masterIp = (string)master["subsets"]![0]!["addresses"]![0]!["ip"]!;
        var masterPort = (int)master["subsets"]![0]!["ports"]![0]!["port"]!;
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: volumes, namespace: default, labels: {app: volumes}}
            spec:
              terminationGracePeriodSeconds: 1
              securityContext: {fsGroup: 4242, runAsUser: 1654}
              containers:
              - name: main
                image: lc-test/busybox:nonroot
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'echo data > /cache/file && exec sleep 3600']
                volumeMounts:
                - {name: cache, mountPath: /cache}
                - {name: secret, mountPath: /etc/secret}
                - {name: info, mountPath: /etc/info}
              volumes:
              - name: cache
                emptyDir: {medium: Memory, sizeLimit: 8Mi}
              - name: secret
                secret: {secretName: volume-secret, defaultMode: 0400, items: [{key: password, path: db/password}]}
              - name: info
                projected:
                  sources:
                  - configMap: {name: volume-config}
                  - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}, {path: labels, fieldRef: {fieldPath: metadata.labels}}]}
            """);
        var (id, pid) = await RunningAsync("volumes", "main");
        var pod = await cluster.GetJsonAsync("get", "pod", "volumes");
        var uid = Uid(pod);
        Assert.Equal("tmpfs", KernelView.Mount(pid, "/cache")!.Value.FsType);
        Assert.StartsWith("ro,", KernelView.Mount(pid, "/etc/secret")!.Value.Options, StringComparison.Ordinal);
        Assert.Equal("s3cret", (await ExecAsync(id, "cat", "/etc/secret/db/password")).Output);
        Assert.NotEqual(0, (await ExecAsync(id, "cat", "/etc/secret/other")).ExitCode);
        Assert.Equal("440 0 4242", (await ExecAsync(id, "stat", "-L", "-c", "%a %u %g", "/etc/secret/db/password")).Output.Trim());
        Assert.Equal("hello", (await ExecAsync(id, "cat", "/etc/info/greeting")).Output);
        Assert.Equal("default", (await ExecAsync(id, "cat", "/etc/info/namespace")).Output);
        Assert.Equal("app=\"volumes\"", (await ExecAsync(id, "cat", "/etc/info/labels")).Output);
        Assert.Contains("4242", KernelView.Status(pid, "Groups").Split(' ', '\t'));
        var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
        Assert.Contains($"KUBERNETES_SERVICE_HOST={masterIp}", environ);
        Assert.Contains($"KUBERNETES_SERVICE_PORT={masterPort}", environ);
        Assert.Contains($"KUBERNETES_PORT=tcp://{masterIp}:{masterPort}", environ);

        var podDir = Path.Combine(cluster.StateDir, "kubelet", "pods", uid);
        Assert.NotEmpty(KernelView.MountsUnder(podDir));
        var netns = "lc-" + uid.Replace("-", "", StringComparison.Ordinal)[..10];
        var delete = await cluster.KubectlAsync("delete", "pod", "volumes");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
        var took = await Shell.WaitUntilAsync(async () =>
            !(await KernelView.RuncIdsAsync(cluster.StateDir)).Contains(id)
            && !Directory.Exists($"/proc/{pid}")
            && KernelView.MountsUnder(podDir).Count == 0
            && KernelView.MountsUnder(Path.Combine(cluster.StateDir, "containers", id)).Count == 0
            && !Directory.GetDirectories("/sys/fs/cgroup").Any(h => Directory.Exists(Path.Combine(h, "local-cluster", $"pod{uid}")))
            && !(await Shell.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10))).Output.Contains(netns, StringComparison.Ordinal)
            && !Directory.Exists(podDir),
            TimeSpan.FromSeconds(60), () => "no container, process, mount, cgroup, namespace or directory of the deleted Pod");
        Say($"Pod deleted: container, process, mounts, cgroups, namespace and directory gone after {took.TotalSeconds:0.0} s");
    }

    [Fact(Timeout = 120_000)]
    [Order(7)]
    public async Task DeletionSendsSigtermAndSigkillOnlyAfterTheGracePeriod()
    {
        await ApplyAsync("""
            apiVersion: v1
            kind: Pod
            metadata: {name: graceful, namespace: default}
            spec:
              terminationGracePeriodSeconds: 3
              containers:
              - name: trapper
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sh, -c, 'trap "echo got TERM; exit 0" TERM; echo waiting; while true; do sleep 1; done']
              - name: stubborn
                image: lc-test/busybox:root
                imagePullPolicy: IfNotPresent
                command: [sleep, "3600"]
            """);
        var (_, trapper) = await RunningAsync("graceful", "trapper");
        var (_, stubborn) = await RunningAsync("graceful", "stubborn");
        var pod = await cluster.GetJsonAsync("get", "pod", "graceful");
        var log = LogFile(pod, "trapper", 0);
        await Shell.WaitUntilAsync(() => Task.FromResult(File.Exists(log) && File.ReadAllText(log).Contains("stdout F waiting", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), () => "the trap is set");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await DeleteAsync("graceful");
        TimeSpan trapperGone = default, stubbornGone = default;
        await Shell.WaitUntilAsync(() =>
        {
            if (trapperGone == default && !Directory.Exists($"/proc/{trapper}")) trapperGone = watch.Elapsed;
            if (stubbornGone == default && !Directory.Exists($"/proc/{stubborn}")) stubbornGone = watch.Elapsed;
            return Task.FromResult(trapperGone != default && stubbornGone != default);
        }, TimeSpan.FromSeconds(60), () => "both containers' processes gone");
        // sleep as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM for it: only the SIGKILL
        // after the 3 s grace period ends it. The trapper ends on SIGTERM, saying so.
        Assert.True(stubbornGone >= TimeSpan.FromSeconds(3), $"stubborn lived {stubbornGone.TotalSeconds:0.0} s after the delete, less than its grace period");
        Assert.Contains("stdout F got TERM", File.ReadAllText(log), StringComparison.Ordinal);
        Say($"deleted: the trapper ended on SIGTERM after {trapperGone.TotalSeconds:0.0} s, the stubborn one by SIGKILL after {stubbornGone.TotalSeconds:0.0} s (grace 3 s, 1 s drain)");
    }

    [Fact(Timeout = 240_000)]
    [Order(8)]
    public async Task TheDatabaseEntryPointFailsVisiblyWithoutOneOfItsFiveCapabilities()
    {
        const string Missing = "running as root without the capabilities CHOWN";
        // The operator's db container with CHOWN taken away: the MySQL image's entry point chowns its
        // data directory as root before it drops to the mysql user, so it must fail, and say why
        // (hack/local-cluster/mysql/docker-entrypoint.sh names the missing capability).
        await ApplyAsync("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: nochown, namespace: default}
            spec:
              replicas: 1
              api: {imagePullPolicy: IfNotPresent}
              ingress: {enabled: false}
              database:
                securityContext:
                  allowPrivilegeEscalation: false
                  capabilities: {drop: [ALL], add: [DAC_OVERRIDE, FOWNER, SETGID, SETUID]}
            """);
        JsonNode? db = null;
        var log = "";
        await Shell.WaitUntilAsync(async () =>
        {
            var pods = (await cluster.GetJsonAsync("get", "pods", "-l", "app.kubernetes.io/instance=nochown"))["items"]!.AsArray();
            if (pods.Count == 0) return false;
            db = Container(pods[0]!, "db");
            if ((int?)db["restartCount"] < 1 || db["lastState"]?["terminated"] is not { } last) return false;
            var file = LastRunLog(pods[0]!, last);
            log = File.Exists(file) ? File.ReadAllText(file) : "";
            return log.Contains(Missing, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(120), () => $"the db container exited and restarted, its log read; status {db?.ToJsonString()}; log: {log}");
        Assert.Equal("Error", (string?)db!["lastState"]!["terminated"]!["reason"]);
        Assert.Equal(1, (int)db["lastState"]!["terminated"]!["exitCode"]!);
        Say($"db without CHOWN: exit {db["lastState"]!["terminated"]!["exitCode"]}, its log: {log.Split('\n').First(l => l.Contains(Missing, StringComparison.Ordinal))}");
        var delete = await cluster.KubectlAsync("delete", "userapi", "nochown", "--wait=false");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
    }

    [Fact(Timeout = 180_000)]
    [Order(9)]
    public async Task DownAfterTheKubeletWasKilledLeavesNoContainerProcessMountCgroupOrNamespace()
    {
        var (_, pid) = await RunningAsync("restricted", "main");
        var ids = await KernelView.RuncIdsAsync(cluster.StateDir);
        Assert.NotEmpty(ids);
        var kubelet = int.Parse(File.ReadAllText(Path.Combine(cluster.StateDir, "kubelet.pid")).Trim(), CultureInfo.InvariantCulture);
        System.Diagnostics.Process.GetProcessById(kubelet).Kill();
        await Shell.WaitUntilAsync(() => Task.FromResult(!Directory.Exists($"/proc/{kubelet}")), TimeSpan.FromSeconds(30), () => "the kubelet is dead");
        Assert.True(Directory.Exists($"/proc/{pid}"), "the container outlives its kubelet, as under a real runtime");

        var down = await cluster.DownAsync();
        Assert.True(down.ExitCode == 0, down.Transcript);
        Assert.Empty(await KernelView.RuncIdsAsync(cluster.StateDir));
        Assert.False(Directory.Exists($"/proc/{pid}"), "the container's process is gone");
        Assert.Empty(KernelView.MountsUnder(cluster.StateDir));
        Assert.DoesNotContain(Directory.GetDirectories("/sys/fs/cgroup"), h => Directory.Exists(Path.Combine(h, "local-cluster")));
        var netns = await Shell.RunAsync("ip", ["netns", "list"], TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(netns.Output.Split('\n'), l => l.StartsWith("lc-", StringComparison.Ordinal));
        var runc = System.Diagnostics.Process.GetProcessesByName("runc");
        Assert.DoesNotContain(runc, p => File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(cluster.StateDir, StringComparison.Ordinal));
    }

    private async Task EnsureImagesAsync()
    {
        await Loaded.WaitAsync();
        try
        {
            if (_loaded) return;
            var archive = await TestImages.WriteAsync(Path.Combine(Shell.Root, ".local", "test-images", "busybox.tar"));
            var load = await Shell.RunAsync(Path.Combine(Shell.Root, "hack", "local-cluster.sh"), ["load", archive], TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["LOCAL_CLUSTER_DIR"] = cluster.StateDir });
            Assert.True(load.ExitCode == 0, load.Transcript);
            _loaded = true;
        }
        finally
        {
            Loaded.Release();
        }
    }

    private async Task ApplyAsync(string manifest)
    {
        await EnsureImagesAsync();
        var file = Path.Combine(cluster.StateDir, $"pod-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, manifest);
        var apply = await cluster.KubectlAsync("apply", "-f", file);
        Assert.True(apply.ExitCode == 0, apply.Transcript);
    }

    private async Task DeleteAsync(string pod)
    {
        var delete = await cluster.KubectlAsync("delete", "pod", pod, "--wait=false");
        Assert.True(delete.ExitCode == 0, delete.Transcript);
    }

    /// <summary>Waits until the container runs; returns its runc id and init pid (the kernel's).</summary>
    private async Task<(string Id, int Pid)> RunningAsync(string pod, string container)
    {
        var id = "";
        var pid = 0;
        JsonNode? status = null;
        await Shell.WaitUntilAsync(async () =>
        {
            status = Container(await cluster.GetJsonAsync("get", "pod", pod), container);
            if (status["state"]?["running"] is null) return false;
            id = KernelView.ContainerId(status);
            pid = await KernelView.PidAsync(cluster.StateDir, id);
            return pid > 0;
        }, TimeSpan.FromSeconds(90), () => $"container {container} of {pod} running; status {status?.ToJsonString()}");
        return (id, pid);
    }

    private Task<Result> ExecAsync(string id, params string[] command) =>
        Shell.RunAsync("runc", ["--root", Path.Combine(cluster.StateDir, "runc"), "exec", id, .. command], TimeSpan.FromSeconds(30));

    private string LogFile(JsonNode pod, string container, int restart) =>
        Path.Combine(cluster.StateDir, "pods", $"default_{(string)pod["metadata"]!["name"]!}_{Uid(pod)}", container, $"{restart}.log");

    /// <summary>
    /// The log of the run a lastState.terminated describes: its containerID ends in its restart count
    /// (the kubelet keeps that run's log and the current one's, so read it before the next restart).
    /// </summary>
    private string LastRunLog(JsonNode pod, JsonNode terminated)
    {
        var id = ((string)terminated["containerID"]!)["runc://".Length..];
        var restart = int.Parse(id[(id.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);
        var container = id[(id.IndexOf('-', StringComparison.Ordinal) + 1)..id.LastIndexOf('-')];
        return LogFile(pod, container, restart);
    }

    private static string Uid(JsonNode pod) => (string)pod["metadata"]!["uid"]!;

    private static JsonNode Container(JsonNode pod, string name) =>
        pod["status"]?["containerStatuses"]?.AsArray().FirstOrDefault(c => (string?)c!["name"] == name) ?? new JsonObject();

    private void Say(string line)
    {
        output.WriteLine(line);
        cluster.Report(line);
    }
}
