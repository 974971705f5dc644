using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using KubeApiFake;

namespace UserApiOperator.Tests.Hostile;

/// <summary>
/// The hostile-world cases share one collection: each runs real operator processes, so they run one
/// at a time (beside the other test classes, which are in-process and light).
/// </summary>
[CollectionDefinition(Name)]
public sealed class HostileCollection
{
    public const string Name = "hostile world";
}

/// <summary>
/// A cluster as the operator meets it in production, minus the cluster: the fake API server with
/// authentication and RBAC on, holding exactly what <c>kubectl kustomize config/default</c> renders
/// (CRD, Namespace, ServiceAccount, roles and bindings), and real operator processes that each reach
/// it through their own <see cref="TcpProxy"/> with a ServiceAccount token. The test plays the user
/// (applying UserApis as kubernetes-admin) and the Deployment controller (<see cref="MarkAvailable"/>).
/// </summary>
internal sealed class HostileWorld : IAsyncDisposable
{
    public static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");

    /// <summary>Where the user's UserApis live.</summary>
    public const string Ns = "default";

    private readonly List<OperatorProcess> _operators = [];

    private HostileWorld(FakeKubeApiServer api, (string Namespace, string Name) serviceAccount)
    {
        Api = api;
        OperatorAccount = serviceAccount;
    }

    public FakeKubeApiServer Api { get; }

    /// <summary>The ServiceAccount of the rendered manager Deployment (userapi-system/userapi-operator-controller-manager).</summary>
    public (string Namespace, string Name) OperatorAccount { get; }

    public static async Task<HostileWorld> StartAsync(FakeKubeApiServerOptions? options = null)
    {
        options ??= new FakeKubeApiServerOptions();
        options.EnableAuthorization = true;
        var api = await FakeKubeApiServer.StartAsync(options);
        await api.ApplyAsync(RenderedManifests.Yaml);
        return new HostileWorld(api, RenderedManifests.OperatorServiceAccount());
    }

    /// <summary>
    /// A second ServiceAccount in the operator's namespace bound to the same ClusterRole and
    /// leader-election Role as the shipped one, so that a second replica's requests can be told apart.
    /// </summary>
    public async Task<(string Namespace, string Name)> CloneOperatorAccountAsync(string name)
    {
        var (ns, original) = OperatorAccount;
        var bindings = Api.Store.List(KnownResources.ClusterRoleBindings).Concat(Api.Store.List(KnownResources.RoleBindings, ns))
            .Where(b => b["subjects"]!.AsArray().Any(s => (string?)s!["name"] == original))
            .ToList();
        Assert.True(bindings.Count >= 2, "expected the manager and leader-election bindings");
        var yaml = $"""
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: {name}
              namespace: {ns}
            """;
        foreach (var binding in bindings)
        {
            var kind = (string)binding["kind"]!;
            var bindingNs = kind == "RoleBinding" ? $"\n  namespace: {ns}" : "";
            yaml += $"""

                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: {kind}
                metadata:
                  name: {binding["metadata"]!["name"]}-{name}{bindingNs}
                roleRef:
                  apiGroup: rbac.authorization.k8s.io
                  kind: {binding["roleRef"]!["kind"]}
                  name: {binding["roleRef"]!["name"]}
                subjects:
                - kind: ServiceAccount
                  name: {name}
                  namespace: {ns}
                """;
        }

        await Api.ApplyAsync(yaml);
        return (ns, name);
    }

    /// <summary>Starts the operator as <paramref name="account"/> (default: the shipped ServiceAccount) behind a new proxy.</summary>
    public OperatorProcess StartOperator(string name, IEnumerable<string>? args = null, (string Namespace, string Name)? account = null, ProxyMode proxyMode = ProxyMode.Forward, int? healthPort = null, int? metricsPort = null)
    {
        var (ns, sa) = account ?? OperatorAccount;
        var token = Api.IssueServiceAccountToken(ns, sa);
        var proxy = new TcpProxy(new IPEndPoint(IPAddress.Loopback, Api.BaseAddress.Port), proxyMode);
        var kubeconfig = Api.KubeconfigYaml(Ns, token).Replace(Api.BaseAddress.GetLeftPart(UriPartial.Authority), proxy.Address, StringComparison.Ordinal);
        Assert.Contains(proxy.Address, kubeconfig, StringComparison.Ordinal);
        var process = OperatorProcess.Start(name, proxy, kubeconfig, KubeUser.ServiceAccountUserName(ns, sa), args ?? [], healthPort, metricsPort);
        _operators.Add(process);
        return process;
    }

    /// <summary>Applies a UserApi as the user would (kubectl apply --server-side, as kubernetes-admin).</summary>
    public async Task<JsonObject> ApplyUserApiAsync(string name, int replicas = 1, bool ingress = true)
    {
        var applied = await Api.ApplyAsync($"""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata:
              name: {name}
              namespace: {Ns}
            spec:
              replicas: {replicas}
              ingress:
                enabled: {(ingress ? "true" : "false")}
            """);
        return applied.Single();
    }

    public Task ApplySampleAsync() => Api.ApplyAsync(File.ReadAllText(Repository.PathOf("config/samples/userapi.yaml")));

    public JsonObject? UserApi(string name) => Api.Store.Get(UserApis, Ns, name);

    /// <summary>
    /// Reconciled: the UserApi's status reports its current generation and the Deployment asks for
    /// its replicas. Returns the UserApi.
    /// </summary>
    public bool IsReconciled(string name)
    {
        var userApi = UserApi(name);
        var deployment = Api.Store.Get(KnownResources.Deployments, Ns, name);
        if (userApi is null || deployment is null)
        {
            return false;
        }

        var generation = Long(userApi["metadata"]!["generation"]);
        var observed = Long(userApi["status"]?["observedGeneration"]);
        var replicas = Long(userApi["spec"]?["replicas"]);
        return observed == generation && Long(deployment["spec"]?["replicas"]) == replicas
            && Api.Store.Get(KnownResources.Services, Ns, name) is not null
            && Api.Store.Get(KnownResources.Secrets, Ns, $"{name}-mysql") is not null;
    }

    public async Task WaitReconciledAsync(string name, TimeSpan timeout, params OperatorProcess[] logsOf)
    {
        try
        {
            await Api.WaitForAsync(() => IsReconciled(name), timeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{name} not reconciled within {timeout.TotalSeconds:0} s: {UserApi(name)?.ToJsonString()}\n"
                + string.Join("\n", logsOf.Select(o => $"--- {o.Name}\n{o.Transcript}")), e);
        }
    }

    /// <summary>Plays the Deployment controller: every desired Pod of the current template is ready.</summary>
    public void MarkAvailable(string name) =>
        Api.Store.UpdateStatus(KnownResources.Deployments, Ns, name, d =>
        {
            var replicas = Long(d["spec"]!["replicas"]);
            d["status"] = new JsonObject
            {
                ["observedGeneration"] = Long(d["metadata"]!["generation"]),
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = replicas,
                ["availableReplicas"] = replicas,
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Available", ["status"] = "True", ["reason"] = "MinimumReplicasAvailable" }),
            };
        });

    /// <summary>Every kind the operator makes for a UserApi.</summary>
    public static readonly IReadOnlyList<GroupVersionResource> ChildKinds =
    [
        KnownResources.Secrets, KnownResources.Deployments, KnownResources.Services, KnownResources.Ingresses,
        KnownResources.HorizontalPodAutoscalers, KnownResources.PodDisruptionBudgets, KnownResources.NetworkPolicies,
    ];

    /// <summary>Every object of a <see cref="ChildKinds"/> kind in the user's namespace that has an owner reference.</summary>
    public IReadOnlyList<(string Kind, string Name, string OwnerUid)> Children() =>
        [.. ChildKinds
            .SelectMany(r => Api.Store.List(r, Ns).Select(o => (Resource: r, Object: o)))
            .SelectMany(x => (x.Object["metadata"]!["ownerReferences"]?.AsArray() ?? [])
                .Select(o => (x.Resource.Resource, (string)x.Object["metadata"]!["name"]!, (string)o!["uid"]!)))];

    /// <summary>Every child whose owner is not a live UserApi: none may exist once the operator has settled.</summary>
    public IReadOnlyList<string> Orphans()
    {
        var live = Api.Store.List(UserApis, Ns).Select(u => (string)u["metadata"]!["uid"]!).ToHashSet(StringComparer.Ordinal);
        return [.. Children().Where(c => !live.Contains(c.OwnerUid)).Select(c => $"{c.Kind}/{c.Name} owned by {c.OwnerUid}")];
    }

    /// <summary>Write requests (not Leases, not Events) made by <paramref name="user"/>.</summary>
    public IReadOnlyList<RecordedRequest> ReconcileWrites(string user) =>
        [.. Api.Requests.Where(r => r.IsWrite && r.User?.Name == user && r.StatusCode is >= 200 and < 300
            && !r.Path.Contains("/leases", StringComparison.Ordinal) && !r.Path.Contains("/events", StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _operators)
        {
            await process.DisposeAsync();
        }

        await Api.DisposeAsync();
    }

    public static long Long(JsonNode? node) =>
        node is null ? -1 : long.Parse(node.ToJsonString().Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture);
}
