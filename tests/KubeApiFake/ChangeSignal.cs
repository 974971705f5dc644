namespace KubeApiFake;

/// <summary>Wakes waiters whenever something observable changed (store write, request logged, watch opened/closed).</summary>
internal sealed class ChangeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref _next).Task;

    public void Pulse()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    /// <summary>Re-evaluates <paramref name="condition"/> after every change until it holds or the timeout passes.</summary>
    public async Task<T> WaitAsync<T>(Func<T?> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var next = Next;
            if (condition() is { } result) return result;
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            try
            {
                await next.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Evaluate one last time on the next loop turn, then fail.
            }
        }
    }
}
