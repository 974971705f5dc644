namespace UserApiOperator.Runtime.Watcher;

/// <summary>What an <see cref="Informer{T}"/> watches and how it paces itself.</summary>
public sealed record InformerOptions
{
    /// <summary>
    /// Shortest watch that may end without an event and be resumed at once. client-go's reflector
    /// treats a watch that lasted less than a second and delivered nothing as a failure ("very short
    /// watch: Unexpected watch close - watch lasted less than a second and no items received";
    /// tools/cache/reflector.go, <c>handleWatch</c>), so a server that ends every watch at once, or
    /// answers every fresh list's version with 410, is retried with backoff rather than in a hot loop.
    /// </summary>
    public static readonly TimeSpan VeryShortWatch = TimeSpan.FromSeconds(1);

    /// <summary>Namespace to watch; null for all namespaces.</summary>
    public string? Namespace { get; init; }

    /// <summary>Label selector (<c>key=value,...</c>); null for every object.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>How long the server keeps one watch open before the informer resumes with a new one (plus up to 10 % jitter). Default 5 minutes.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First retry delay after a failed list or watch. Default 200 ms.</summary>
    public TimeSpan MinRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Cap of the retry delay. Default 20 s: with ±20 % jitter an API server that comes back is tried
    /// again within 24 s, so reconciles resume within 30 s of its return, while a long outage costs each
    /// informer about 3 attempts a minute (client-go's reflector caps at 30 s with up to 100 % jitter).
    /// </summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Objects per list page (<c>?limit=</c>). Default 500, as client-go's reflector.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Clock for retry delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
