using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using KubeApiFake;
using Microsoft.Extensions.Logging.Abstractions;
using UserApiOperator.Cli;
using UserApiOperator.Controllers;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Runtime.Builder;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Manager;
using UserApiOperator.Runtime.Metrics;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Tests.Controller;

/// <summary>
/// The UserApi controller with real parts and no workers: KubernetesClient against the fake API
/// server over loopback, the informer cache filled by real watches, the real Event recorder. Tests
/// put objects into the store, wait until the cache shows them, call one reconcile and read what the
/// operator sent from the server's request log.
/// </summary>
internal sealed class ControllerHarness : IAsyncDisposable
{
    public const string Ns = "default";
    public static readonly GroupVersionResource UserApis = new("userapi.example.com", "v1alpha1", "userapis");
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stop = new();
    private Task _informers = Task.CompletedTask;

    private ControllerHarness(FakeKubeApiServer api, IKubernetes client, InformerCache cache, ManualTime time)
    {
        Api = api;
        Client = client;
        Cache = cache;
        Time = time;
        Controller = new UserApiController(
            client,
            cache,
            new EventRecorder(client, "userapi-operator", "test", time, NullLogger<EventRecorder>.Instance),
            new FirstReportTracker(time),
            time,
            NullLogger<UserApiController>.Instance);
    }

    public FakeKubeApiServer Api { get; }

    public IKubernetes Client { get; }

    public InformerCache Cache { get; }

    public ManualTime Time { get; }

    public UserApiController Controller { get; }

    /// <summary>What the operator sent since the last <c>Api.ClearRequests()</c>.</summary>
    public IReadOnlyList<RecordedRequest> Requests => Api.Requests.Where(r => r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true && !r.IsWatch).ToList();

    public IReadOnlyList<RecordedRequest> Writes => Requests.Where(r => r.IsWrite).ToList();

    public IReadOnlyList<(string Type, string Reason, string Message)> Events => Api.Store.List(KnownResources.Events, Ns)
        .Select(e => ((string)e["type"]!, (string)e["reason"]!, (string)e["message"]!)).ToList();

    public static async Task<ControllerHarness> StartAsync()
    {
        var api = await FakeKubeApiServer.StartAsync();
        await api.ApplyAsync(CrdCommand.Render());
        using var kubeconfig = new MemoryStream(Encoding.UTF8.GetBytes(api.KubeconfigYaml(Ns)));
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig), new UserAgentHandler("userapi-operator", "test"));
        var cache = new InformerCache(client, new InformerOptions(), NullLoggerFactory.Instance);
        // The informers the controller declares, as the operator sets them up (the work queue is this harness's).
        UserApiController.SetUpWatches(new ControllerBuilder<V1Alpha1UserApi>(cache, new OperatorMetrics(), NullLoggerFactory.Instance));
        var harness = new ControllerHarness(api, client, cache, new ManualTime(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero)));
        harness._informers = cache.RunAsync(harness._stop.Token);
        await cache.WaitForSyncAsync(CancellationToken.None).WaitAsync(Timeout);
        await api.WaitForAsync(() => api.ActiveWatchCount >= cache.Informers.Count, Timeout); // Every informer is watching.
        return harness;
    }

    /// <summary>Creates a UserApi through the API (validated against the CRD) and waits until the cache holds it.</summary>
    public async Task CreateAsync(string name, string spec = "{}")
    {
        await Api.ApplyAsync($"apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {{name: {name}, namespace: {Ns}}}\nspec: {spec}\n");
        await SettledAsync();
    }

    /// <summary>Stores a UserApi without validation, as one made under an older, looser CRD.</summary>
    public async Task PutUnvalidatedAsync(string name, JsonObject spec)
    {
        Api.Store.Put(UserApis, new JsonObject
        {
            ["apiVersion"] = "userapi.example.com/v1alpha1",
            ["kind"] = "UserApi",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Ns },
            ["spec"] = spec,
        });
        await SettledAsync();
    }

    /// <summary>Waits until every informer's cache holds the store's current version of every object it watches.</summary>
    public async Task SettledAsync()
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!(InSync<V1Alpha1UserApi>(UserApis, null) && InSync<V1Secret>(KnownResources.Secrets, UserApiLabels.ManagedSelector)
            && InSync<V1Deployment>(KnownResources.Deployments, UserApiLabels.ManagedSelector) && InSync<V1Service>(KnownResources.Services, UserApiLabels.ManagedSelector)
            && InSync<V1Ingress>(KnownResources.Ingresses, UserApiLabels.ManagedSelector)
            && InSync<V2HorizontalPodAutoscaler>(KnownResources.HorizontalPodAutoscalers, UserApiLabels.ManagedSelector)
            && InSync<V1PodDisruptionBudget>(KnownResources.PodDisruptionBudgets, UserApiLabels.ManagedSelector)
            && InSync<V1NetworkPolicy>(KnownResources.NetworkPolicies, UserApiLabels.ManagedSelector)
            && InSync<V1Pod>(KnownResources.Pods, UserApiLabels.ManagedSelector)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the informers did not catch up with the store");
            await Task.Delay(5);
        }
    }

    private bool InSync<T>(GroupVersionResource resource, string? selector)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var stored = Api.Store.List(resource, Ns, selector);
        var cached = Cache.Get<T>().List();
        return stored.Count == cached.Count
            && stored.All(s => cached.Any(c => c.Metadata.Name == (string?)s["metadata"]!["name"] && c.Metadata.ResourceVersion == (string?)s["metadata"]!["resourceVersion"]));
    }

    /// <summary>One reconcile of the cached UserApi <paramref name="name"/>.</summary>
    public Task<ReconcileResult> ReconcileAsync(string name = "alpha") =>
        Controller.ReconcileAsync(Cache.Get<V1Alpha1UserApi>().Get(Ns, name) ?? throw new InvalidOperationException($"{name} is not cached"), CancellationToken.None);

    /// <summary>Reconciles until the status is written, plays the Deployment controller (all Pods ready) and reconciles to Ready; then clears the request log.</summary>
    public async Task BringToReadyAsync(string name = "alpha", string spec = "{}")
    {
        await CreateAsync(name, spec);
        await ReconcileAsync(name);
        await SettledAsync();
        MarkDeploymentAvailable(name);
        await SettledAsync();
        await ReconcileAsync(name);
        await SettledAsync();
        Api.ClearRequests();
    }

    /// <summary>
    /// Stores a Pod of the UserApi <paramref name="userApi"/> as its ReplicaSet would make it (the
    /// operator's labels), with <paramref name="status"/> as the scheduler or kubelet left it, and waits
    /// until the cache holds it.
    /// </summary>
    public async Task PutPodAsync(string name, string userApi, JsonObject? status)
    {
        Api.Store.Put(KnownResources.Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Ns,
                ["labels"] = new JsonObject { [UserApiLabels.NameKey] = UserApiLabels.AppName, [UserApiLabels.InstanceKey] = userApi, [UserApiLabels.ManagedByKey] = UserApiLabels.ManagedBy },
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "api", ["image"] = "userapi:latest" }) },
            ["status"] = status,
        });
        await SettledAsync();
    }

    public JsonObject? Status(string name = "alpha") => Api.Store.Get(UserApis, Ns, name)?["status"]?.AsObject();

    public static JsonNode? Condition(JsonObject? status, string type) =>
        status?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == type);

    public void MarkDeploymentAvailable(string name) =>
        Api.Store.UpdateStatus(KnownResources.Deployments, Ns, name, d =>
        {
            var replicas = int.Parse(d["spec"]!["replicas"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            d["status"] = new JsonObject
            {
                ["observedGeneration"] = long.Parse(d["metadata"]!["generation"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = replicas,
                ["availableReplicas"] = replicas,
            };
        });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _informers;
        Client.Dispose();
        await Api.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>A clock that moves only when told.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
