using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Rbac;

namespace UserApiOperator.Runtime.LeaderElection;

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm
/// (<c>tools/leaderelection/leaderelection.go</c>): candidates try every retry period (with jitter),
/// the holder renews by a compare-and-swap update of the Lease through KubernetesClient's
/// <see cref="LeaseLock"/>, others take over only after a whole lease duration without change,
/// measured on their own clock.
/// <para>
/// The loop is this class's own, not KubernetesClient's <see cref="LeaderElector"/>, whose loop differs
/// from client-go where an operator cannot afford it: its renewal gives up on the first exception
/// (a connection reset during one renewal ends leadership), an exception while campaigning escapes
/// to the caller (a standby dies on an API-server blip), its renewal task keeps running after a
/// renew-deadline loss (it renewed the Lease after leadership had ended, locking the standby out), it
/// does not release the Lease, and its clock cannot be replaced in tests. Here, as in client-go:
/// </para>
/// <list type="bullet">
/// <item>every failed attempt, whatever failed, is retried every retry period: while campaigning, for
/// ever; while leading, until the renew deadline;</item>
/// <item>fail-safe: a leader stops leading once it has not renewed for the renew deadline, counted from
/// its last successful renewal (client-go counts from the start of the renewal that fails, up to a retry
/// period later), so it stops before its lease could expire for the others; the attempt in flight is
/// cancelled, and no renewal runs after that;</item>
/// <item>a leader that sees another holder in the Lease stops at once;</item>
/// <item>on a clean stop, and after a loss while the Lease still names this replica, the Lease is
/// released (client-go's <c>ReleaseOnCancel</c>, <c>release()</c>: the holder cleared,
/// <c>leaseDurationSeconds: 1</c>), so a standby takes over at its next retry instead of after a lease
/// duration.</item>
/// </list>
/// </summary>
/// <param name="client">API access (Lease get, create, update; Event create).</param>
/// <param name="events">Records "became leader" on the Lease.</param>
/// <param name="options">Lease, identity, timings and clock.</param>
/// <param name="logger">Transitions at Information, failures at Warning, the loss at Error.</param>
[EntityRbac(typeof(V1Lease), RbacVerb.Get | RbacVerb.Create | RbacVerb.Update, Scope = RbacScope.LeaderElectionNamespace,
    Reason = "the Lease the replicas compete for: read, created by the first leader, renewed and released by update.")]
[EntityRbac(typeof(Corev1Event), RbacVerb.Create, Scope = RbacScope.LeaderElectionNamespace,
    Reason = "the Event announcing a new leader, on the Lease.")]
public sealed partial class LeaseElector(IKubernetes client, IEventRecorder events, LeaderElectionOptions options, ILogger<LeaseElector> logger)
{
    /// <summary>client-go's <c>JitterFactor</c>: a candidate waits a retry period plus up to 1.2 more between attempts.</summary>
    private const double JitterFactor = 1.2;

    private readonly TimeProvider _time = options.TimeProvider;
    private volatile bool _isLeader;
    private LeaderElectionRecord? _observed;
    private long _observedAt;
    private string? _reportedLeader;

    /// <summary>True while this replica holds the Lease (the <c>leader_election_master_status</c> metric).</summary>
    public bool IsLeader => _isLeader;

    /// <summary>This replica's identity.</summary>
    public string Identity => options.Identity;

    /// <summary>Campaigns until leader, runs <paramref name="lead"/> while leading, and renews the Lease.</summary>
    /// <param name="lead">The work only the leader may do; its token is cancelled when leadership ends, before this method returns.</param>
    /// <param name="cancellationToken">Stops the election (shutdown); a held Lease is then released.</param>
    /// <returns>True when leadership was lost (the caller should exit); false on a clean stop.</returns>
    public async Task<bool> RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        var leaseLock = new LeaseLock(client, options.Namespace, options.LeaseName, options.Identity);
        LogCampaigning(logger, options.Identity, options.Namespace, options.LeaseName);
        if (!await AcquireAsync(leaseLock, cancellationToken).ConfigureAwait(false))
        {
            return false; // Stopped while campaigning.
        }

        _isLeader = true;
        LogAcquired(logger, options.Identity, options.Namespace, options.LeaseName);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lease = new V1Lease { ApiVersion = "coordination.k8s.io/v1", Kind = "Lease", Metadata = new V1ObjectMeta { Name = options.LeaseName, NamespaceProperty = options.Namespace } };
        _ = events.RecordAsync(lease, EventTypes.Normal, "LeaderElection", $"{options.Identity} became leader", leading.Token);
        var work = Task.Run(() => lead(leading.Token), CancellationToken.None);

        var lost = !await RenewUntilLostAsync(leaseLock, cancellationToken).ConfigureAwait(false);
        _isLeader = false;
        await leading.CancelAsync().ConfigureAwait(false);
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Leading work stops by cancellation.
        }

        if (lost)
        {
            LogLost(logger, options.Identity, options.Namespace, options.LeaseName);
        }

        await ReleaseAsync(leaseLock).ConfigureAwait(false);
        return lost;
    }

    /// <summary>client-go's <c>acquire</c>: one attempt every retry period (jittered) until one succeeds; false when cancelled first.</summary>
    private async Task<bool> AcquireAsync(LeaseLock leaseLock, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var acquired = await TryAcquireOrRenewAsync(leaseLock, cancellationToken).ConfigureAwait(false);
                ReportTransition();
                if (acquired)
                {
                    return true;
                }

                var jittered = options.RetryPeriod * (1 + (Random.Shared.NextDouble() * JitterFactor));
                await Task.Delay(jittered, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// client-go's <c>renew</c>: a renewal every retry period; one that fails is tried again every retry
    /// period until the renew deadline after the last successful one. Returns false when leadership is
    /// lost (the deadline passed, or another holder took the Lease), true when cancelled (a clean stop).
    /// </summary>
    private async Task<bool> RenewUntilLostAsync(LeaseLock leaseLock, CancellationToken cancellationToken)
    {
        var renewedAt = _time.GetTimestamp();
        try
        {
            while (true)
            {
                await Task.Delay(options.RetryPeriod, _time, cancellationToken).ConfigureAwait(false);
                var remaining = options.RenewDeadline - _time.GetElapsedTime(renewedAt);
                if (remaining <= TimeSpan.Zero)
                {
                    LogRenewDeadline(logger, options.Namespace, options.LeaseName, options.RenewDeadline.TotalSeconds);
                    return false;
                }

                // The attempt in flight when the deadline passes is cancelled: nothing renews after it.
                using var deadline = new CancellationTokenSource(remaining, _time);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                bool renewed;
                try
                {
                    renewed = await TryAcquireOrRenewAsync(leaseLock, attempt.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    renewed = false;
                }

                ReportTransition();
                if (renewed)
                {
                    renewedAt = _time.GetTimestamp();
                }
                else if (_observed?.HolderIdentity is { Length: > 0 } holder && holder != options.Identity)
                {
                    LogUsurped(logger, options.Namespace, options.LeaseName, holder);
                    return false;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return true;
        }
    }

    /// <summary>
    /// client-go's <c>tryAcquireOrRenew</c>: the leader first updates optimistically from the Lease it
    /// last wrote; otherwise read the Lease (create it when absent), give up while another holder's lease
    /// is valid by this replica's clock, and else write this replica as holder. Every failure (an API
    /// error, a refused update, a dropped connection) is an unsuccessful attempt, logged; only
    /// <paramref name="cancellationToken"/> throws.
    /// </summary>
    private async Task<bool> TryAcquireOrRenewAsync(LeaseLock leaseLock, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var record = new LeaderElectionRecord
        {
            HolderIdentity = options.Identity,
            LeaseDurationSeconds = (int)options.LeaseDuration.TotalSeconds,
            AcquireTime = now,
            RenewTime = now,
        };
        try
        {
            if (HoldsObservedLease() && _observed is { } mine)
            {
                record.AcquireTime = mine.AcquireTime;
                record.LeaderTransitions = mine.LeaderTransitions;
                if (await leaseLock.UpdateAsync(record, cancellationToken).ConfigureAwait(false))
                {
                    Observe(record);
                    return true;
                }
            }

            LeaderElectionRecord? current;
            try
            {
                current = await leaseLock.GetAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                current = null;
            }

            if (current is null)
            {
                if (!await leaseLock.CreateAsync(record, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                Observe(record);
                return true;
            }

            if (!SameRecord(_observed, current))
            {
                Observe(current);
            }

            if (!string.IsNullOrEmpty(current.HolderIdentity) && current.HolderIdentity != options.Identity && LeaseValid())
            {
                return false; // Held by another replica, and not expired by our clock.
            }

            if (current.HolderIdentity == options.Identity)
            {
                record.AcquireTime = current.AcquireTime;
                record.LeaderTransitions = current.LeaderTransitions;
            }
            else
            {
                record.LeaderTransitions = current.LeaderTransitions + 1;
            }

            if (!await leaseLock.UpdateAsync(record, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            Observe(record);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // An attempt fails, whatever failed; the loop decides what a failure means.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogAttemptFailed(logger, options.Namespace, options.LeaseName, e.GetType().Name, e.Message);
            return false;
        }
    }

    private bool HoldsObservedLease() => _observed?.HolderIdentity == options.Identity && LeaseValid();

    /// <summary>client-go's <c>isLeaseValid</c>: the observed record is younger than its lease duration, by this replica's clock.</summary>
    private bool LeaseValid() =>
        _observed is { } observed && _time.GetElapsedTime(_observedAt) < TimeSpan.FromSeconds(observed.LeaseDurationSeconds);

    private void Observe(LeaderElectionRecord record)
    {
        _observed = record;
        _observedAt = _time.GetTimestamp();
    }

    private static bool SameRecord(LeaderElectionRecord? a, LeaderElectionRecord b) =>
        a is not null && a.HolderIdentity == b.HolderIdentity && a.AcquireTime == b.AcquireTime && a.RenewTime == b.RenewTime
        && a.LeaseDurationSeconds == b.LeaseDurationSeconds && a.LeaderTransitions == b.LeaderTransitions;

    /// <summary>client-go's <c>maybeReportTransition</c>: logs each holder change seen.</summary>
    private void ReportTransition()
    {
        var holder = _observed?.HolderIdentity;
        if (string.IsNullOrEmpty(holder) || holder == _reportedLeader)
        {
            return;
        }

        _reportedLeader = holder;
        if (holder != options.Identity)
        {
            LogOtherLeader(logger, options.Namespace, options.LeaseName, holder);
        }
    }

    /// <summary>
    /// client-go's <c>release()</c>: if the Lease still names this replica, write it with the holder
    /// cleared and a one-second duration, within one retry period. The holder is the empty string, not
    /// absent: KubernetesClient's <see cref="LeaseLock"/> reads a Lease without holder as one to create
    /// anew. The update is a compare-and-swap on the version last read, so it cannot undo another
    /// replica's takeover.
    /// </summary>
    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        using var timeout = new CancellationTokenSource(options.RetryPeriod, _time);
        try
        {
            var record = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record?.HolderIdentity != options.Identity)
            {
                return;
            }

            var now = _time.GetUtcNow().UtcDateTime;
            var released = await leaseLock.UpdateAsync(
                new LeaderElectionRecord { HolderIdentity = "", LeaseDurationSeconds = 1, AcquireTime = now, RenewTime = now, LeaderTransitions = record.LeaderTransitions },
                timeout.Token).ConfigureAwait(false);
            if (released)
            {
                LogReleased(logger, options.Identity, options.Namespace, options.LeaseName);
            }
        }
#pragma warning disable CA1031 // Releasing is a courtesy: without it the standby waits out the lease.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogAttemptFailed(logger, options.Namespace, options.LeaseName, e.GetType().Name, e.Message);
        }
    }

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Identity} is waiting to lead (Lease {Namespace}/{Lease})")]
    private static partial void LogCampaigning(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "{Identity} became leader (Lease {Namespace}/{Lease})")]
    private static partial void LogAcquired(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 403, Level = LogLevel.Error, Message = "{Identity} lost the Lease {Namespace}/{Lease}; stopped reconciling")]
    private static partial void LogLost(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "{Identity} released the Lease {Namespace}/{Lease}")]
    private static partial void LogReleased(ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Leader election on {Namespace}/{Lease}: {ErrorType}: {ErrorMessage}")]
    private static partial void LogAttemptFailed(ILogger logger, string @namespace, string lease, string errorType, string errorMessage);

    [LoggerMessage(EventId = 406, Level = LogLevel.Information, Message = "Lease {Namespace}/{Lease} is held by {Holder}")]
    private static partial void LogOtherLeader(ILogger logger, string @namespace, string lease, string holder);

    [LoggerMessage(EventId = 407, Level = LogLevel.Error, Message = "Lease {Namespace}/{Lease} not renewed within the renew deadline ({Seconds:0} s)")]
    private static partial void LogRenewDeadline(ILogger logger, string @namespace, string lease, double seconds);

    [LoggerMessage(EventId = 408, Level = LogLevel.Error, Message = "Lease {Namespace}/{Lease} was taken over by {Holder}")]
    private static partial void LogUsurped(ILogger logger, string @namespace, string lease, string holder);
}
