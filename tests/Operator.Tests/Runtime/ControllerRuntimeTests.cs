using System.Collections.Concurrent;
using System.Text.Json;
using k8s;
using k8s.Models;
using KubeApiFake;
using Microsoft.Extensions.Logging.Abstractions;
using UserApiOperator.Entities;
using UserApiOperator.Runtime.Queue;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Tests.Controller;

namespace UserApiOperator.Tests.Runtime;

/// <summary>
/// The controller runtime around a recording controller, on the real informers of the fake API
/// server: which events reach a reconcile, in orders that a busy cluster produces. Each order is
/// driven (a watch held silent, a reconcile held open), not left to luck.
/// </summary>
public sealed class ControllerRuntimeTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private ControllerHarness _h = null!;
    private RecordingController _controller = null!;
    private ControllerRuntime<V1Alpha1UserApi> _runtime = null!;
    private Task _workers = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _h = await ControllerHarness.StartAsync();
        _controller = new RecordingController();
        _runtime = new ControllerRuntime<V1Alpha1UserApi>(
            "test", _h.Cache, _controller, new WorkQueue(ExponentialBackoff.Default(), TimeProvider.System), new ControllerOptions(), NullLogger.Instance);
        _workers = _runtime.RunWorkersAsync(_stop.Token);
    }

    public async Task DisposeAsync()
    {
        _controller.Gate.TrySetResult();
        await _stop.CancelAsync();
        await _workers;
        _runtime.Dispose();
        await _h.DisposeAsync();
        _stop.Dispose();
    }

    [Fact]
    public async Task A_spec_edit_that_lands_while_the_operator_writes_the_status_is_reconciled()
    {
        await _h.CreateAsync("alpha");
        await _controller.WaitForAsync(r => r.Generation == 1);

        // The UserApi watch falls silent (a slow connection), so the edit and the status write below
        // reach the cache in the order a reconcile can see them: its own write first.
        var silent = _h.Api.Faults.CutOff(r => r.IsWatch && r.Path.EndsWith("/userapis", StringComparison.Ordinal), CutOffMode.Hang);
        _h.Api.Store.Update(ControllerHarness.UserApis, ControllerHarness.Ns, "alpha", u => u["spec"]!["replicas"] = 5); // Generation 2.
        var patch = new V1Patch("""{"status":{"observedGeneration":1}}""", V1Patch.PatchType.MergePatch);
        var written = (JsonElement)await _h.Client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            patch, V1Alpha1UserApi.Group, V1Alpha1UserApi.Version, ControllerHarness.Ns, V1Alpha1UserApi.Plural, "alpha");
        var answer = KubernetesJson.Deserialize<V1Alpha1UserApi>(written);
        Assert.Equal(2, answer.Metadata.Generation); // The status write's answer already carries the edit.
        _h.Cache.Get<V1Alpha1UserApi>().Remember(answer);
        silent.Dispose(); // The watch is reset, resumes and delivers the edit, then the status write.

        await _controller.WaitForAsync(r => r.Generation == 2);
    }

    [Fact]
    public async Task A_UserApi_deleted_and_made_again_while_its_reconcile_runs_is_told_deleted_once()
    {
        _controller.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _h.CreateAsync("alpha");
        var first = _h.Cache.Get<V1Alpha1UserApi>().Get(ControllerHarness.Ns, "alpha")!.Metadata.Uid;
        await _controller.Started.Task.WaitAsync(ControllerHarness.Timeout); // Held open by the gate.

        _h.Api.Store.Delete(ControllerHarness.UserApis, ControllerHarness.Ns, "alpha");
        await _h.CreateAsync("alpha"); // Same name, a new object.
        var second = _h.Cache.Get<V1Alpha1UserApi>().Get(ControllerHarness.Ns, "alpha")!.Metadata.Uid;
        Assert.NotEqual(first, second);
        _controller.Gate.TrySetResult();

        await _controller.WaitForAsync(r => r.Uid == second);
        Assert.Equal(first, Assert.Single(_controller.Deleted));
    }

    [Fact]
    public async Task A_watched_kind_that_the_entity_does_not_own_reconciles_what_its_map_function_names()
    {
        await _h.CreateAsync("alpha");
        await _controller.WaitForAsync(r => r.Generation == 1);
        var controller = new RecordingController();
        var seen = new ConcurrentQueue<string>();
        using var runtime = new ControllerRuntime<V1Alpha1UserApi>(
            "pods", _h.Cache, controller, new WorkQueue(ExponentialBackoff.Default(), TimeProvider.System), new ControllerOptions(), NullLogger.Instance);
        runtime.Watch(_h.Cache.Get<V1Pod>(), e =>
        {
            seen.Enqueue($"{e.Type} {e.Object.Metadata.Name}");
            return e.Object.Metadata.Name == "loud" ? "default/alpha" : null;
        });
        using var stop = new CancellationTokenSource();
        var workers = runtime.RunWorkersAsync(stop.Token);
        await controller.WaitForAsync(_ => true); // Its own first list: the UserApi is Added.
        var before = controller.Count;

        await _h.PutPodAsync("quiet", "alpha", null);
        await _h.PutPodAsync("loud", "beta", null);

        await controller.WaitForAsync(r => controller.Count > before);
        Assert.Equal(["Added quiet", "Added loud"], seen);
        await stop.CancelAsync();
        await workers;
    }

    /// <summary>Records each reconcile (after the gate opens) and each deletion.</summary>
    private sealed class RecordingController : IEntityController<V1Alpha1UserApi>
    {
        private readonly ConcurrentQueue<(string? Uid, long? Generation)> _reconciled = new();
        private readonly SemaphoreSlim _changed = new(0);

        public TaskCompletionSource Gate { get; set; } = CompletedGate();

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<string?> Deleted { get; } = new();

        public int Count => _reconciled.Count;

        public async Task<ReconcileResult> ReconcileAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            await Gate.Task.WaitAsync(cancellationToken);
            _reconciled.Enqueue((entity.Metadata.Uid, entity.Metadata.Generation));
            _changed.Release();
            return ReconcileResult.Done;
        }

        public Task DeletedAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
        {
            Deleted.Enqueue(entity.Metadata.Uid);
            return Task.CompletedTask;
        }

        public async Task WaitForAsync(Func<(string? Uid, long? Generation), bool> reconciled)
        {
            var deadline = DateTime.UtcNow + ControllerHarness.Timeout;
            while (!_reconciled.Any(reconciled))
            {
                var left = deadline - DateTime.UtcNow;
                Assert.True(left > TimeSpan.Zero, $"no such reconcile; seen: {string.Join(", ", _reconciled)}");
                await _changed.WaitAsync(left);
            }
        }

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }
}
