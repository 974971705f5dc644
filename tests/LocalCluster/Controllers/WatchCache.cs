using System.Globalization;
using k8s;
using k8s.Models;

namespace LocalCluster.Controllers;

/// <summary>
/// A list+watch cache of one kind for the control-plane loops (client-go's reflector and store,
/// <c>tools/cache/reflector.go</c>, without indexers): list, then watch from the list's
/// resourceVersion; a watch that ends is resumed from the last resourceVersion seen; one that
/// fails (a 410 Expired included, which KubernetesClient raises from the ERROR event) is followed
/// by a fresh list after a backoff of 200 ms doubling to 5 s. Every change calls <c>changed</c>,
/// so the loops run level-triggered on the whole cache.
/// </summary>
/// <param name="kind">Name used in log lines, e.g. <c>pods</c>.</param>
/// <param name="list">Lists every object: the items and the list's resourceVersion.</param>
/// <param name="watch">Watches from a resourceVersion (bookmarks allowed).</param>
/// <param name="changed">Called after the first list and after every event.</param>
/// <param name="log">Receives one line per failure; null for none.</param>
internal sealed class WatchCache<T>(
    string kind,
    Func<CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> list,
    Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> watch,
    Action changed,
    Action<string>? log = null)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _items = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    /// <summary>Every cached object, ordered by namespace/name.</summary>
    public List<T> Snapshot()
    {
        lock (_lock) return [.. _items.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value)];
    }

    /// <summary>The cached object, or null.</summary>
    public T? Get(string? ns, string name)
    {
        lock (_lock) return _items.GetValueOrDefault(Key(ns, name));
    }

    /// <summary>Puts an object this process just wrote, unless the cache already holds a newer one of the same uid.</summary>
    public void Upsert(T obj)
    {
        lock (_lock)
        {
            var key = Key(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            if (_items.TryGetValue(key, out var old) && old.Metadata.Uid == obj.Metadata.Uid && Rv(old) > Rv(obj)) return;
            _items[key] = obj;
        }
    }

    /// <summary>Lists, then watches, until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var (items, rv) = await list(ct);
                lock (_lock)
                {
                    _items.Clear();
                    foreach (var item in items) _items[Key(item.Metadata.NamespaceProperty, item.Metadata.Name)] = item;
                }
                _synced.TrySetResult();
                changed();
                while (!ct.IsCancellationRequested)
                {
                    await foreach (var (type, obj) in watch(rv, ct))
                    {
                        rv = obj.Metadata?.ResourceVersion ?? rv;
                        if (type == WatchEventType.Bookmark) continue;
                        Apply(type, obj);
                        changed();
                        backoff = TimeSpan.FromMilliseconds(200);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log?.Invoke($"watch {kind}: {e.GetType().Name}: {e.Message}; listing again in {backoff.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5000));
            }
        }
    }

    private void Apply(WatchEventType type, T obj)
    {
        var key = Key(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
        lock (_lock)
        {
            if (type == WatchEventType.Deleted)
            {
                if (_items.TryGetValue(key, out var old) && old.Metadata.Uid == obj.Metadata.Uid) _items.Remove(key);
                return;
            }
            if (_items.TryGetValue(key, out var current) && current.Metadata.Uid == obj.Metadata.Uid && Rv(current) > Rv(obj)) return;
            _items[key] = obj;
        }
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    private static long Rv(T obj) =>
        long.TryParse(obj.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
