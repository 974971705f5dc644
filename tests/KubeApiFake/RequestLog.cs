namespace KubeApiFake;

/// <summary>Bounded, thread-safe log of answered requests; each one also goes to <paramref name="observer"/> when given.</summary>
internal sealed class RequestLog(int limit, ChangeSignal signal, Action<RecordedRequest>? observer = null)
{
    private readonly Lock _lock = new();
    private readonly Queue<RecordedRequest> _entries = new();

    public void Add(RecordedRequest request)
    {
        lock (_lock)
        {
            _entries.Enqueue(request);
            while (_entries.Count > Math.Max(limit, 1)) _entries.Dequeue();
        }
        observer?.Invoke(request);
        signal.Pulse();
    }

    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_lock) return [.. _entries];
    }

    public void Clear()
    {
        lock (_lock) _entries.Clear();
    }
}
