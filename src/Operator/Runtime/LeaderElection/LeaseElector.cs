using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Rbac;

namespace UserApiOperator.Runtime.LeaderElection;

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease through KubernetesClient's
/// <see cref="LeaderElector"/> and <see cref="LeaseLock"/> (client-go's algorithm: candidates try
/// every retry period, the holder renews by a compare-and-swap update, others take over only after a
/// whole lease duration without change, measured on their own clock). Fail-safe: when a renewal does
/// not succeed within the renew deadline the elector stops leading (<c>OnStoppedLeading</c>) and the
/// leading work is cancelled at once, before the lease could have expired for others.
/// <para>
/// KubernetesClient's elector does not release the Lease when cancelled; client-go does with
/// <c>ReleaseOnCancel</c> (<c>tools/leaderelection/leaderelection.go</c>, <c>release()</c>: an update with
/// the holder cleared, <c>leaseDurationSeconds: 1</c> and renew/acquire time now). This class adds that
/// step on a clean stop, so a standby takes over at its next retry instead of after the lease duration.
/// </para>
/// </summary>
/// <param name="client">API access (Lease get, create, update; Event create).</param>
/// <param name="events">Records "became leader" on the Lease.</param>
/// <param name="options">Lease, identity and timings.</param>
/// <param name="logger">Transitions at Information, failures at Warning.</param>
[EntityRbac(typeof(V1Lease), RbacVerb.Get | RbacVerb.Create | RbacVerb.Update, Scope = RbacScope.LeaderElectionNamespace,
    Reason = "the Lease the replicas compete for: read, created by the first leader, renewed and released by update.")]
[EntityRbac(typeof(Corev1Event), RbacVerb.Create, Scope = RbacScope.LeaderElectionNamespace,
    Reason = "the Event announcing a new leader, on the Lease.")]
public sealed partial class LeaseElector(IKubernetes client, IEventRecorder events, LeaderElectionOptions options, ILogger<LeaseElector> logger)
{
    private volatile bool _isLeader;

    /// <summary>True while this replica holds the Lease (the <c>leader_election_master_status</c> metric).</summary>
    public bool IsLeader => _isLeader;

    /// <summary>This replica's identity.</summary>
    public string Identity => options.Identity;

    /// <summary>Campaigns until leader, runs <paramref name="lead"/> while leading, and renews the Lease.</summary>
    /// <param name="lead">The work only the leader may do; its token is cancelled when leadership ends.</param>
    /// <param name="cancellationToken">Stops the election (shutdown); a held Lease is then released.</param>
    /// <returns>True when leadership was lost (the caller should exit); false on a clean stop.</returns>
    public async Task<bool> RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lead);
        var leaseLock = new LeaseLock(client, options.Namespace, options.LeaseName, options.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        });
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? work = null;
        var led = false;
        elector.OnStartedLeading += () =>
        {
            _isLeader = true;
            led = true;
            LogAcquired(logger, options.Identity, options.Namespace, options.LeaseName);
            var lease = new V1Lease { ApiVersion = "coordination.k8s.io/v1", Kind = "Lease", Metadata = new V1ObjectMeta { Name = options.LeaseName, NamespaceProperty = options.Namespace } };
            _ = events.RecordAsync(lease, EventTypes.Normal, "LeaderElection", $"{options.Identity} became leader", leading.Token);
            work = Task.Run(() => lead(leading.Token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            // Runs before RunUntilLeadershipLostAsync returns: stop the leading work without delay.
            _isLeader = false;
            leading.Cancel();
        };
        elector.OnError += e => LogAttemptFailed(logger, options.Namespace, options.LeaseName, e.GetType().Name, e.Message);

        // KubernetesClient's elector, like client-go's, keeps retrying a renewal until the renew deadline
        // even when the Lease already names another holder; it reports that holder through OnNewLeader
        // after the failed attempt. Seeing someone else hold the Lease while leading means it is lost:
        // stop at once rather than at the deadline.
        using var electing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var usurped = false;
        elector.OnNewLeader += holder =>
        {
            if (led && holder != options.Identity)
            {
                usurped = true;
                _isLeader = false;
                leading.Cancel();
                electing.Cancel();
            }
        };

        LogCampaigning(logger, options.Identity, options.Namespace, options.LeaseName);
        bool lost;
        try
        {
            await elector.RunUntilLeadershipLostAsync(electing.Token).ConfigureAwait(false);
            lost = !cancellationToken.IsCancellationRequested;
        }
        catch (OperationCanceledException) when (electing.IsCancellationRequested)
        {
            lost = usurped;
        }

        _isLeader = false;
        await leading.CancelAsync().ConfigureAwait(false);
        if (work is not null)
        {
            try
            {
                await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Leading work stops by cancellation.
            }
        }

        if (lost)
        {
            LogLost(logger, options.Identity, options.Namespace, options.LeaseName);
            return true;
        }

        if (led)
        {
            await ReleaseAsync(leaseLock).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>
    /// client-go's <c>release()</c>: if this replica still holds the Lease, write it with the holder
    /// cleared and a one-second duration. The holder is the empty string, not absent: KubernetesClient's
    /// elector treats a record without holder as missing and would try to create the Lease anew.
    /// </summary>
    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        using var timeout = new CancellationTokenSource(options.RetryPeriod);
        try
        {
            var record = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record?.HolderIdentity != options.Identity)
            {
                return;
            }

            var now = DateTime.UtcNow;
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
}
