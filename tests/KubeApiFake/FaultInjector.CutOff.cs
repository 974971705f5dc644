namespace KubeApiFake;

/// <summary>How a cut-off client experiences the API server.</summary>
public enum CutOffMode
{
    /// <summary>Every request's connection is reset before an answer (a firewall rejecting, a dead proxy); open watches break.</summary>
    Reset,

    /// <summary>Requests get no answer until the cut-off ends, then their connection is reset (a network partition); open watches go silent.</summary>
    Hang,
}

/// <summary>Per-client network faults: cut a client (by user, or any request predicate) off the server.</summary>
public sealed partial class FaultInjector
{
    private readonly List<CutOffRule> _cutOffs = [];
    private readonly List<WatchRegistration> _watches = [];

    /// <summary>
    /// Cuts off every request of the authenticated user <paramref name="userName"/> (needs
    /// <see cref="FakeKubeApiServerOptions.EnableAuthorization"/>; ServiceAccounts are
    /// <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c>) until the returned handle is disposed.
    /// </summary>
    /// <param name="userName">The user name.</param>
    /// <param name="mode">Reset (default) or hang.</param>
    /// <returns>A handle whose disposal restores the connection (hung requests are then reset).</returns>
    public IDisposable CutOff(string userName, CutOffMode mode = CutOffMode.Reset)
    {
        ArgumentNullException.ThrowIfNull(userName);
        return CutOff(r => r.User?.Name == userName, mode);
    }

    /// <summary>
    /// Cuts off every request matching <paramref name="match"/> (it sees the request with
    /// StatusCode 0 and, with authorisation on, its <see cref="RecordedRequest.User"/>) until the
    /// returned handle is disposed. Open watches that match break (Reset) or go silent (Hang) at once.
    /// Cut-off requests are logged with StatusCode 0 (no answer).
    /// </summary>
    /// <param name="match">Which requests.</param>
    /// <param name="mode">Reset (default) or hang.</param>
    /// <returns>A handle whose disposal restores the connection.</returns>
    public IDisposable CutOff(Func<RecordedRequest, bool> match, CutOffMode mode = CutOffMode.Reset)
    {
        ArgumentNullException.ThrowIfNull(match);
        var rule = new CutOffRule(this, match, mode);
        List<WatchRegistration> hit;
        lock (_lock)
        {
            _cutOffs.Add(rule);
            hit = _watches.Where(w => !w.CutBy.Task.IsCompleted && match(w.Request)).ToList();
        }

        foreach (var watch in hit) watch.CutBy.TrySetResult(rule);
        return rule;
    }

    /// <summary>The cut-off that applies to a request, or null.</summary>
    internal CutOffRule? CutOffFor(RecordedRequest request)
    {
        lock (_lock) return _cutOffs.LastOrDefault(r => r.Match(request));
    }

    /// <summary>Tracks an open watch so a later cut-off reaches it; dispose when the stream ends.</summary>
    internal WatchRegistration RegisterWatch(RecordedRequest request)
    {
        var registration = new WatchRegistration(this, request);
        lock (_lock) _watches.Add(registration);
        return registration;
    }

    private void Remove(CutOffRule rule)
    {
        lock (_lock) _cutOffs.Remove(rule);
    }

    private void Remove(WatchRegistration registration)
    {
        lock (_lock) _watches.Remove(registration);
    }

    internal sealed class CutOffRule(FaultInjector owner, Func<RecordedRequest, bool> match, CutOffMode mode) : IDisposable
    {
        private readonly CancellationTokenSource _released = new();

        public Func<RecordedRequest, bool> Match { get; } = match;

        public CutOffMode Mode { get; } = mode;

        /// <summary>Cancelled when the cut-off ends.</summary>
        public CancellationToken Released => _released.Token;

        public void Dispose()
        {
            owner.Remove(this);
            _released.Cancel();
        }
    }

    internal sealed class WatchRegistration(FaultInjector owner, RecordedRequest request) : IDisposable
    {
        public RecordedRequest Request { get; } = request;

        /// <summary>Completed with the cut-off that reached this watch.</summary>
        public TaskCompletionSource<CutOffRule> CutBy { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => owner.Remove(this);
    }
}
