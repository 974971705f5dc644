using System.Collections.Concurrent;
using k8s.Models;

namespace UserApiOperator.Controllers;

/// <summary>
/// Remembers the UserApis whose Deployment this operator has just created, so that their first status
/// waits (at most <see cref="Wait"/>) for the Deployment controller's first report. That report comes
/// within moments in a working cluster and triggers a reconcile; a status computed before it describes
/// nothing observed and would be superseded at once, so waiting saves that write. Thread-safe.
/// </summary>
/// <param name="timeProvider">Clock of the wait.</param>
public sealed class FirstReportTracker(TimeProvider timeProvider)
{
    /// <summary>Longest wait for the first report; after it the status is written whatever the Deployment says.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _created = new(StringComparer.Ordinal);

    /// <summary>Notes that the Deployment of <paramref name="key"/> was just created.</summary>
    public void DeploymentCreated(string key) => _created[key] = timeProvider.GetUtcNow();

    /// <summary>
    /// How much longer the status of <paramref name="key"/> should wait, or null when it should be
    /// written now: no wait pending, a problem to report, the Deployment reported
    /// (<c>status.observedGeneration</c> set), or the wait is over.
    /// </summary>
    public TimeSpan? Remaining(string key, V1Deployment? deployment, bool hasProblem)
    {
        if (!_created.TryGetValue(key, out var created))
        {
            return null;
        }

        var left = Wait - (timeProvider.GetUtcNow() - created);
        if (!hasProblem && deployment?.Status?.ObservedGeneration is null && left > TimeSpan.Zero)
        {
            return left;
        }

        _created.TryRemove(key, out _);
        return null;
    }

    /// <summary>Forgets <paramref name="key"/> (the UserApi was deleted).</summary>
    public void Forget(string key) => _created.TryRemove(key, out _);
}
