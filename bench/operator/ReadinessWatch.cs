using System.Text.Json;
using k8s;
using k8s.Autorest;

namespace UserApiOperator.Bench;

/// <summary>
/// Knows which UserApis report <c>Ready=True</c>, from one watch over the API, as
/// <c>kubectl wait --for=condition=Ready</c> would: the benchmark's clock stops at the watch event
/// that makes the last one Ready. A watch costs the fake API server one encoded event per change;
/// polling the store instead copied every UserApi out of it, under its lock, twenty times a second.
/// </summary>
internal sealed class ReadinessWatch(IKubernetes client, string @namespace, int expected)
{
    private readonly HashSet<string> _ready = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _allReady = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when <c>expected</c> UserApis are Ready at once.</summary>
    public Task AllReady => _allReady.Task;

    /// <summary>How many UserApis the watch last saw Ready.</summary>
    public int ReadyCount
    {
        get
        {
            lock (_ready) return _ready.Count;
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resourceVersion = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Exception? error = null;
                await foreach (var (type, item) in client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                    "userapi.example.com", "v1alpha1", @namespace, "userapis", resourceVersion: resourceVersion, timeoutSeconds: 300,
                    onError: e => error ??= e, cancellationToken: cancellationToken))
                {
                    var userApi = (JsonElement)item;
                    var metadata = userApi.GetProperty("metadata");
                    resourceVersion = metadata.GetProperty("resourceVersion").GetString() ?? resourceVersion;
                    Observe(metadata.GetProperty("name").GetString()!, type != WatchEventType.Deleted && IsReady(userApi));
                }

                if (error is KubernetesException { Status.Code: 410 })
                {
                    resourceVersion = ""; // Expired: list again from now (the benchmark never expires history).
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Gone)
            {
                resourceVersion = "";
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
            {
                // The server ended a watch before its first event; KubernetesClient throws for that.
            }
        }
    }

    private void Observe(string name, bool ready)
    {
        lock (_ready)
        {
            if (ready ? _ready.Add(name) : _ready.Remove(name))
            {
                if (_ready.Count >= expected)
                {
                    _allReady.TrySetResult();
                }
            }
        }
    }

    private static bool IsReady(JsonElement userApi) =>
        userApi.TryGetProperty("status", out var status)
        && status.TryGetProperty("conditions", out var conditions)
        && conditions.ValueKind == JsonValueKind.Array
        && conditions.EnumerateArray().Any(c =>
            c.TryGetProperty("type", out var type) && type.GetString() == "Ready"
            && c.TryGetProperty("status", out var value) && value.GetString() == "True");
}
