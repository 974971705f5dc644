using System.Globalization;
using k8s;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// A list+watch cache of one kind, in client-go's reflector shape without its indexers: list, then
/// watch from the list's resourceVersion; a watch that ends is resumed from the last event's
/// resourceVersion, one that fails (a 410 Expired included, which KubernetesClient raises as an
/// exception from the ERROR event) is followed by a fresh list after a short backoff. Every change
/// calls <c>changed</c>, so the controllers run level-triggered on the whole cache.
/// </summary>
internal sealed class Informer<T>(
    string kind,
    Func<CancellationToken, Task<(IList<T> Items, string ResourceVersion)>> list,
    Func<string, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> watch,
    Action changed)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _items = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    /// <summary>Every cached object.</summary>
    public List<T> Snapshot()
    {
        lock (_lock) return [.. _items.Values];
    }

    /// <summary>The cached object, or null.</summary>
    public T? Get(string? ns, string name)
    {
        lock (_lock) return _items.GetValueOrDefault(Key(ns, name));
    }

    /// <summary>Puts an object this process just wrote, unless the cache already holds a newer one.</summary>
    public void Upsert(T obj)
    {
        lock (_lock)
        {
            var key = Key(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            if (_items.TryGetValue(key, out var old) && Rv(old) > Rv(obj)) return;
            _items[key] = obj;
        }
    }

    /// <summary>Drops an object this process just deleted.</summary>
    public void Remove(string? ns, string name)
    {
        lock (_lock) _items.Remove(Key(ns, name));
    }

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
                    foreach (var i in items) _items[Key(i.Metadata.NamespaceProperty, i.Metadata.Name)] = i;
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
                Log.Write($"informer {kind}: {e.GetType().Name}: {e.Message}; listing again in {backoff.TotalSeconds:0.0} s");
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
            if (_items.TryGetValue(key, out var cur) && cur.Metadata.Uid == obj.Metadata.Uid && Rv(cur) > Rv(obj)) return;
            _items[key] = obj;
        }
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    private static long Rv(T obj) =>
        long.TryParse(obj.Metadata?.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
}

/// <summary>The kubelet's one log: a line per decision, on stderr, with a UTC time.</summary>
internal static class Log
{
    public static void Write(string line) =>
        Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
}
