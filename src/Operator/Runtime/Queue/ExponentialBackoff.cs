using System.Collections.Concurrent;

namespace UserApiOperator.Runtime.Queue;

/// <summary>
/// Per-key exponential backoff with jitter, the rate limiter of a work queue (client-go's
/// <c>ItemExponentialFailureRateLimiter</c>): the n-th consecutive failure of a key waits
/// <c>baseDelay * 2^(n-1)</c>, capped at <c>maxDelay</c>, then multiplied by a random factor in
/// [0.8, 1.2) so that many keys failing together do not retry in lockstep. <see cref="Forget"/>
/// resets a key after a success. Thread-safe.
/// </summary>
/// <param name="baseDelay">Delay after the first failure (5 ms for the operator).</param>
/// <param name="maxDelay">Upper bound of the delay before jitter (5 minutes for the operator).</param>
public sealed class ExponentialBackoff(TimeSpan baseDelay, TimeSpan maxDelay)
{
    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.Ordinal);

    /// <summary>The operator's backoff: 5 ms doubling to a 5-minute cap.</summary>
    public static ExponentialBackoff Default() => new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5));

    /// <summary>Records a failure of <paramref name="key"/> and returns how long to wait before retrying it.</summary>
    public TimeSpan NextDelay(string key)
    {
        var failures = _failures.AddOrUpdate(key, 1, static (_, n) => n + 1);
        var exponent = Math.Min(failures - 1, 40);
        var delay = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, exponent), maxDelay.TotalMilliseconds);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromMilliseconds(delay * jitter);
    }

    /// <summary>Consecutive failures recorded for <paramref name="key"/>.</summary>
    public int Failures(string key) => _failures.GetValueOrDefault(key);

    /// <summary>Forgets the failures of <paramref name="key"/> (after a successful reconcile, or when the object is gone).</summary>
    public void Forget(string key) => _failures.TryRemove(key, out _);
}
