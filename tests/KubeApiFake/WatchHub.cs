using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace KubeApiFake;

/// <summary>One change as retained in the watch history.</summary>
internal sealed record WatchEvent(string Type, ResourceKey Key, long ResourceVersion, JsonObject Object, byte[] Json, JsonObject? Previous);

/// <summary>
/// Retains the last N events (global order by resourceVersion) and fans them out to open watches.
/// All members are called with the <see cref="ResourceStore"/> lock held.
/// </summary>
internal sealed class WatchHub(int historyLimit)
{
    private readonly Queue<WatchEvent> _history = new();
    private readonly List<Watcher> _watchers = [];

    /// <summary>Events with a resourceVersion greater than this are retained; older watch starts get 410.</summary>
    public long Floor { get; private set; }

    public int WatcherCount => _watchers.Count;

    public void Record(WatchEvent ev)
    {
        _history.Enqueue(ev);
        while (_history.Count > Math.Max(historyLimit, 0))
        {
            Floor = _history.Dequeue().ResourceVersion;
        }
        foreach (var w in _watchers) w.Offer(ev);
    }

    public void Expire(long currentResourceVersion)
    {
        _history.Clear();
        Floor = currentResourceVersion;
    }

    public IEnumerable<WatchEvent> Since(long resourceVersion) => _history.Where(e => e.ResourceVersion > resourceVersion);

    public void Add(Watcher watcher) => _watchers.Add(watcher);

    public bool Remove(Watcher watcher) => _watchers.Remove(watcher);

    public List<Watcher> Snapshot() => [.. _watchers];
}

/// <summary>An open watch: its filter and a queue of rendered lines for the HTTP stream.</summary>
internal sealed class Watcher(ResourceType type, string? ns, LabelSelector labels, FieldSelector fields)
{
    private readonly Channel<byte[]> _lines = Channel.CreateUnbounded<byte[]>();
    private readonly CancellationTokenSource _dropped = new();

    public ResourceType Type { get; } = type;

    /// <summary>Whether the client asked for BOOKMARK events (<c>allowWatchBookmarks=true</c>).</summary>
    public bool AllowsBookmarks { get; init; }

    public HttpContext? Context { get; set; }

    public ChannelReader<byte[]> Reader => _lines.Reader;

    public CancellationToken DroppedToken => _dropped.Token;

    public bool WasDropped { get; private set; }

    public bool Matches(JsonObject obj) =>
        (ns is null || JsonUtil.MetaString(obj, "namespace") == ns)
        && labels.Matches(JsonUtil.Labels(obj))
        && fields.Matches(obj);

    public bool Watches(ResourceKey key) => key.Group == Type.Group && key.Resource == Type.Plural && (ns is null || key.Namespace == ns);

    /// <summary>Queues the event as this watch sees it (selector transitions become ADDED/DELETED, like the watch cache).</summary>
    public void Offer(WatchEvent ev)
    {
        if (!Watches(ev.Key)) return;
        var now = Matches(ev.Object);
        switch (ev.Type)
        {
            case "MODIFIED":
            {
                var before = ev.Previous is not null && Matches(ev.Previous);
                if (now && before) Enqueue("MODIFIED", ev.Object, ev.Json);
                else if (now) Enqueue("ADDED", ev.Object, ev.Json);
                else if (before)
                {
                    var gone = (JsonObject)ev.Previous!.DeepClone();
                    JsonUtil.Metadata(gone)["resourceVersion"] = ev.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    Enqueue("DELETED", gone, null);
                }
                break;
            }
            default:
                if (now) Enqueue(ev.Type, ev.Object, ev.Json);
                break;
        }
    }

    public void Enqueue(string type, JsonObject obj, byte[]? json)
    {
        if (json is null || JsonUtil.Str(obj["apiVersion"]) != Type.ApiVersion || JsonUtil.Str(obj["kind"]) is null)
        {
            var copy = (JsonObject)obj.DeepClone();
            copy["apiVersion"] = Type.ApiVersion;
            copy["kind"] ??= Type.Kind;
            JsonUtil.Normalize(copy);
            json = JsonUtil.ToUtf8(copy);
        }
        _lines.Writer.TryWrite(Line(type, json));
    }

    public void EnqueueRaw(byte[] line) => _lines.Writer.TryWrite(line);

    public static byte[] Line(string type, byte[] objectJson)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        var line = new byte[prefix.Length + objectJson.Length + 2];
        prefix.CopyTo(line, 0);
        objectJson.CopyTo(line, prefix.Length);
        line[^2] = (byte)'}';
        line[^1] = (byte)'\n';
        return line;
    }

    public static byte[] Line(string type, JsonObject obj) => Line(type, JsonUtil.ToUtf8(obj));

    /// <summary>Ends the stream cleanly after the queued lines (resource type removed, server stopping).</summary>
    public void Complete() => _lines.Writer.TryComplete();

    /// <summary>Aborts the connection, as a proxy or a dying API server would.</summary>
    public void Drop()
    {
        WasDropped = true;
        _lines.Writer.TryComplete();
        try
        {
            _dropped.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Stream already finished.
        }
        try
        {
            Context?.Abort();
        }
        catch (ObjectDisposedException)
        {
            // Connection already gone.
        }
    }

    public void DisposeToken() => _dropped.Dispose();
}
