namespace LocalCluster.Controllers.Autoscaling;

/// <summary>
/// What the HPA controller remembers of one autoscaler between syncs (kubernetes
/// <c>pkg/controller/podautoscaler/horizontal.go</c>, <c>recommendations</c>, <c>scaleUpEvents</c>,
/// <c>scaleDownEvents</c>): the unstabilized recommendations with their times, and the replica
/// changes it made with their times (only kept when the autoscaler has a <c>behavior</c>).
/// </summary>
internal sealed class ScalingHistory
{
    /// <summary>Recommendations: (replicas, when). Old entries are reused in place rather than removed, as the controller does.</summary>
    public List<(int Replicas, DateTime At)> Recommendations { get; } = [];

    /// <summary>Scale-ups: (replicas added, when, outdated).</summary>
    public List<ScaleEvent> ScaleUps { get; } = [];

    /// <summary>Scale-downs: (replicas removed, when, outdated).</summary>
    public List<ScaleEvent> ScaleDowns { get; } = [];
}

/// <summary>A replica change the controller made.</summary>
/// <param name="Change">Replicas added or removed (never negative).</param>
/// <param name="At">When.</param>
/// <param name="Outdated">Older than the longest policy period: its slot may be reused.</param>
internal sealed record ScaleEvent(int Change, DateTime At, bool Outdated = false);
