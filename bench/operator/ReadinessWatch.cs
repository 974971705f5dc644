using System.Text.Json;
using k8s;

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

    /// <summary>UserApis Ready now.</summary>
    public int Count
    {
        get
        {
            lock (_ready)
            {
                return _ready.Count;
            }
        }
    }

    public Task RunAsync(CancellationToken cancellationToken) => WatchLoop.RunAsync(
        (resourceVersion, onError, token) => client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            "userapi.example.com", "v1alpha1", @namespace, "userapis", resourceVersion: resourceVersion, timeoutSeconds: 300,
            onError: onError, cancellationToken: token),
        (type, item) =>
        {
            var userApi = (JsonElement)item;
            var metadata = userApi.GetProperty("metadata");
            Observe(metadata.GetProperty("name").GetString()!, type != WatchEventType.Deleted && IsReady(userApi));
            return metadata.GetProperty("resourceVersion").GetString();
        },
        cancellationToken);

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
