namespace UserApiOperator.Runtime.Reconciliation;

/// <summary>How a <see cref="ControllerRuntime{TEntity}"/> schedules reconciles.</summary>
public sealed record ControllerOptions
{
    /// <summary>Reconciles that may run at once, each for a different entity (<c>--max-concurrent-reconciles</c>, default 2).</summary>
    public int MaxConcurrentReconciles { get; init; } = 2;

    /// <summary>How often every cached entity is reconciled even without a change (<c>--resync-period</c>, default 10 minutes).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Clock for resync.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
