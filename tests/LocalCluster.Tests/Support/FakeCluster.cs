using System.Text.Json.Nodes;
using k8s;
using KubeApiFake;

namespace LocalCluster.Tests.Support;

/// <summary>
/// The in-process fake API server (real HTTP on loopback) with the kinds the control-plane loops
/// read that it does not serve by itself: Pods and Nodes, each with a status subresource. One per
/// test; <see cref="Client"/> is a KubernetesClient pointed at it.
/// </summary>
public abstract class FakeCluster : IAsyncLifetime
{
    public static readonly GroupVersionResource PodsGvr = new("", "v1", "pods");
    public static readonly GroupVersionResource NodesGvr = new("", "v1", "nodes");

    /// <summary>Generous: the tests wait for conditions, and a busy machine must not fail them.</summary>
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    protected FakeKubeApiServer Api { get; private set; } = null!;

    protected Kubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Api = await FakeKubeApiServer.StartAsync(new FakeKubeApiServerOptions
        {
            AdditionalResources =
            [
                new("", "v1", "pods", "Pod", Namespaced: true) { HasStatusSubresource = true, ShortNames = ["po"] },
                new("", "v1", "nodes", "Node", Namespaced: false) { HasStatusSubresource = true, ShortNames = ["no"] },
            ],
        });
        Client = new Kubernetes(new KubernetesClientConfiguration { Host = Api.BaseAddress.ToString() });
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
    }

    /// <summary>Stores an object as it is (status included) through the store, as a test control.</summary>
    protected JsonObject Put<T>(GroupVersionResource gvr, T obj) =>
        Api.Store.Put(gvr, JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject());

    /// <summary>The stored object as a typed model, or null.</summary>
    protected T? Get<T>(GroupVersionResource gvr, string? ns, string name) where T : class =>
        Api.Store.Get(gvr, ns, name) is { } o ? KubernetesJson.Deserialize<T>(o.ToJsonString()) : null;

    /// <summary>Every stored object of a kind, as typed models.</summary>
    protected List<T> List<T>(GroupVersionResource gvr, string? ns = null) =>
        [.. Api.Store.List(gvr, ns).Select(o => KubernetesJson.Deserialize<T>(o.ToJsonString()))];

    /// <summary>Waits until <paramref name="condition"/> holds for the stored state.</summary>
    protected Task WaitForAsync(Func<bool> condition) => Api.WaitForAsync(condition, Timeout);

    /// <summary>Runs a loop in the background until the test ends; returns the stop handle.</summary>
    protected static (CancellationTokenSource Stop, Task Running) Start(Func<CancellationToken, Task> run)
    {
        var stop = new CancellationTokenSource();
        return (stop, Task.Run(() => run(stop.Token)));
    }
}
