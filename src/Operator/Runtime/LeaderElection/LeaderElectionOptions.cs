namespace UserApiOperator.Runtime.LeaderElection;

/// <summary>
/// Settings of <see cref="LeaseElector"/>, with client-go's defaults: lease 15 s, renew deadline
/// 10 s, retry period 2 s. The renew deadline must be shorter than the lease duration: a leader that
/// has not renewed for the renew deadline stops before anyone else may take the lease.
/// </summary>
public sealed record LeaderElectionOptions
{
    /// <summary>Name of the Lease (<c>--leader-election-id</c>).</summary>
    public string LeaseName { get; init; } = "userapi-operator-leader";

    /// <summary>Namespace of the Lease (<c>--leader-election-namespace</c>).</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>This replica's identity, unique among candidates (Pod name plus a random suffix).</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}_{Guid.NewGuid():N}";

    /// <summary>How long a lease is valid after its last renewal: others wait this long before taking it over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives up leadership.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time between attempts to acquire or renew.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Clock of the election.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
