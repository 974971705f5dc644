namespace UserApiOperator.Runtime.Watcher;

/// <summary>What an <see cref="Informer{T}"/> watches and how it paces itself.</summary>
public sealed record InformerOptions
{
    /// <summary>Namespace to watch; null for all namespaces.</summary>
    public string? Namespace { get; init; }

    /// <summary>Label selector (<c>key=value,...</c>); null for every object.</summary>
    public string? LabelSelector { get; init; }

    /// <summary>How long the server keeps one watch open before the informer resumes with a new one (plus up to 10 % jitter). Default 5 minutes.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First retry delay after a failed list or watch. Default 200 ms.</summary>
    public TimeSpan MinRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the retry delay. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Objects per list page (<c>?limit=</c>). Default 500, as client-go's reflector.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Clock for retry delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
