using Microsoft.Extensions.Logging;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Runtime;

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm: candidates try to
/// acquire the Lease every retry period; the holder renews it by an update conditioned on its
/// resource version (a compare-and-swap); others take it over only when they have seen no change of
/// the Lease for a whole lease duration, measured on their own clock (no trust in other clocks).
/// Fail-safe: a leader that has not renewed within the renew deadline, or finds the Lease held by
/// someone else, cancels the leading work at once — before the lease could have expired for others.
/// On a clean stop the leader releases the Lease so a standby takes over without waiting.
/// </summary>
/// <param name="client">API access (Lease get, create, update; Event create).</param>
/// <param name="events">Records "became leader" on the Lease.</param>
/// <param name="options">Lease, identity and timings.</param>
/// <param name="logger">Transitions at Information, failures at Warning.</param>
public sealed partial class LeaderElector(IKubernetesClient client, IEventRecorder events, LeaderElectionOptions options, ILogger<LeaderElector> logger)
{
    private const string FieldManager = "userapi-operator";
    private V1LeaseSpec? _observed;
    private DateTimeOffset _observedAt;
    private volatile bool _isLeader;

    /// <summary>True while this replica holds the Lease (the <c>leader_election_master_status</c> metric).</summary>
    public bool IsLeader => _isLeader;

    /// <summary>This replica's identity.</summary>
    public string Identity => options.Identity;

    /// <summary>
    /// Campaigns until leader, runs <paramref name="lead"/> while leading, and renews the Lease.
    /// </summary>
    /// <param name="lead">The work only the leader may do; its token is cancelled when leadership ends.</param>
    /// <param name="cancellationToken">Stops the election (shutdown); a held Lease is then released.</param>
    /// <returns>True when leadership was lost (the caller should exit); false on a clean stop.</returns>
    public async Task<bool> RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        LogCampaigning(logger, options.Identity, options.Namespace, options.LeaseName);
        if (!await AcquireAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _isLeader = true;
        LogAcquired(logger, options.Identity, options.Namespace, options.LeaseName);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var work = Task.Run(() => lead(leading.Token), CancellationToken.None);
        var lost = await RenewUntilLostAsync(cancellationToken).ConfigureAwait(false);

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
            return true;
        }

        await ReleaseAsync().ConfigureAwait(false);
        return false;
    }

    private async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await TryAcquireOrRenewAsync(cancellationToken).ConfigureAwait(false))
            {
                var lease = new V1Lease { Metadata = new V1ObjectMeta { Name = options.LeaseName, Namespace = options.Namespace } };
                await events.RecordAsync(lease, V1Event.TypeNormal, "LeaderElection", $"{options.Identity} became leader", cancellationToken).ConfigureAwait(false);
                return true;
            }

            try
            {
                await Task.Delay(Jittered(options.RetryPeriod), options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Renews every retry period; returns true when leadership is lost, false on shutdown.</summary>
    private async Task<bool> RenewUntilLostAsync(CancellationToken cancellationToken)
    {
        var lastRenewal = options.TimeProvider.GetUtcNow();
        while (true)
        {
            try
            {
                await Task.Delay(options.RetryPeriod, options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            // Each attempt may only use what is left of the renew deadline.
            var remaining = options.RenewDeadline - (options.TimeProvider.GetUtcNow() - lastRenewal);
            if (remaining > TimeSpan.Zero)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(remaining);
                if (await TryAcquireOrRenewAsync(attempt.Token).ConfigureAwait(false))
                {
                    lastRenewal = options.TimeProvider.GetUtcNow();
                    continue;
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                if (_observed?.HolderIdentity is { Length: > 0 } holder && holder != options.Identity)
                {
                    return true; // Someone else holds it now.
                }
            }

            if (options.TimeProvider.GetUtcNow() - lastRenewal >= options.RenewDeadline)
            {
                return true;
            }
        }
    }

    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var now = options.TimeProvider.GetUtcNow();
        try
        {
            var lease = await client.GetAsync<V1Lease>(options.LeaseName, options.Namespace, cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                var created = await client.CreateAsync(
                    new V1Lease
                    {
                        Metadata = new V1ObjectMeta { Name = options.LeaseName, Namespace = options.Namespace },
                        Spec = Held(now, now, 0),
                    },
                    FieldManager,
                    cancellationToken).ConfigureAwait(false);
                Observe(created.Spec, now);
                return true;
            }

            var record = lease.Spec ?? new V1LeaseSpec();
            if (!SameRecord(record, _observed))
            {
                Observe(record, now);
            }

            var heldByOther = !string.IsNullOrEmpty(record.HolderIdentity) && record.HolderIdentity != options.Identity;
            var duration = TimeSpan.FromSeconds(record.LeaseDurationSeconds ?? (int)options.LeaseDuration.TotalSeconds);
            if (heldByOther && _observedAt + duration > now)
            {
                return false;
            }

            lease.Spec = record.HolderIdentity == options.Identity
                ? Held(record.AcquireTime ?? now, now, record.LeaseTransitions ?? 0)
                : Held(now, now, (record.LeaseTransitions ?? 0) + 1);
            var updated = await client.ReplaceAsync(lease, FieldManager, cancellationToken).ConfigureAwait(false);
            Observe(updated.Spec, now);
            return true;
        }
        catch (KubernetesConflictException)
        {
            return false; // Another candidate wrote first.
        }
        catch (OperationCanceledException)
        {
            return false; // Shutdown, or the attempt ran out of renew deadline.
        }
#pragma warning disable CA1031 // Any failure is one failed attempt; the loop decides what it means.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogAttemptFailed(logger, options.Namespace, options.LeaseName, e.GetType().Name, e.Message);
            return false;
        }
    }

    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(options.RetryPeriod);
        try
        {
            var lease = await client.GetAsync<V1Lease>(options.LeaseName, options.Namespace, timeout.Token).ConfigureAwait(false);
            if (lease?.Spec?.HolderIdentity != options.Identity)
            {
                return;
            }

            var now = options.TimeProvider.GetUtcNow();
            lease.Spec = new V1LeaseSpec { HolderIdentity = "", LeaseDurationSeconds = 1, AcquireTime = now, RenewTime = now, LeaseTransitions = lease.Spec.LeaseTransitions };
            await client.ReplaceAsync(lease, FieldManager, timeout.Token).ConfigureAwait(false);
            LogReleased(logger, options.Identity, options.Namespace, options.LeaseName);
        }
#pragma warning disable CA1031 // Releasing is a courtesy: without it the standby waits out the lease.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogAttemptFailed(logger, options.Namespace, options.LeaseName, e.GetType().Name, e.Message);
        }
    }

    private V1LeaseSpec Held(DateTimeOffset acquired, DateTimeOffset renewed, int transitions) => new()
    {
        HolderIdentity = options.Identity,
        LeaseDurationSeconds = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds),
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    private void Observe(V1LeaseSpec? record, DateTimeOffset now)
    {
        _observed = record;
        _observedAt = now;
    }

    private static bool SameRecord(V1LeaseSpec a, V1LeaseSpec? b) =>
        b is not null && a.HolderIdentity == b.HolderIdentity && a.RenewTime == b.RenewTime && a.AcquireTime == b.AcquireTime
        && a.LeaseTransitions == b.LeaseTransitions && a.LeaseDurationSeconds == b.LeaseDurationSeconds;

    private static TimeSpan Jittered(TimeSpan period) => period * (1 + (Random.Shared.NextDouble() * 0.2));

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
}
