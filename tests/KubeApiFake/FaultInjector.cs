namespace KubeApiFake;

/// <summary>Answers the next matching requests with an error Status instead of serving them. Thread-safe.</summary>
public sealed partial class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly List<Rule> _rules = [];

    /// <summary>
    /// The next <paramref name="count"/> requests matching <paramref name="match"/> (all requests when null)
    /// get <paramref name="statusCode"/> with a Status body (reason InternalError for 500, ServiceUnavailable
    /// for 503, TooManyRequests with Retry-After for 429, ...). The matcher sees the request with StatusCode 0.
    /// </summary>
    public void FailNext(int count, int statusCode = 500, Func<RecordedRequest, bool>? match = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock) _rules.Add(new Rule(count, statusCode, match));
    }

    /// <summary>Forgets every pending fault.</summary>
    public void Clear()
    {
        lock (_lock) _rules.Clear();
    }

    /// <summary>Number of faults still pending.</summary>
    public int Pending
    {
        get
        {
            lock (_lock) return _rules.Sum(r => r.Remaining);
        }
    }

    internal int? Take(RecordedRequest request)
    {
        lock (_lock)
        {
            foreach (var rule in _rules)
            {
                if (rule.Remaining <= 0 || (rule.Match is not null && !rule.Match(request))) continue;
                rule.Remaining--;
                _rules.RemoveAll(r => r.Remaining <= 0);
                return rule.StatusCode;
            }
            return null;
        }
    }

    private sealed class Rule(int remaining, int statusCode, Func<RecordedRequest, bool>? match)
    {
        public int Remaining { get; set; } = remaining;

        public int StatusCode { get; } = statusCode;

        public Func<RecordedRequest, bool>? Match { get; } = match;
    }
}
