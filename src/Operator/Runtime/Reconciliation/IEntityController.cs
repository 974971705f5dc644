using k8s;
using k8s.Models;

namespace UserApiOperator.Runtime.Reconciliation;

/// <summary>
/// The controller of one kind of entity, in KubeOps' shape: <see cref="ReconcileAsync"/> brings the
/// world in line with an entity's desired state (level-based: read, compute, apply, report; safe to
/// call any number of times) and <see cref="DeletedAsync"/> hears that an entity is gone. The
/// runtime never runs two calls for the same entity at once.
/// </summary>
/// <typeparam name="TEntity">The entity type.</typeparam>
public interface IEntityController<in TEntity>
    where TEntity : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Reconciles <paramref name="entity"/> (the latest cached version).</summary>
    /// <returns>Whether to look again later even without a change.</returns>
    /// <exception cref="Exception">Any failure: the runtime retries the entity with exponential backoff.</exception>
    Task<ReconcileResult> ReconcileAsync(TEntity entity, CancellationToken cancellationToken);

    /// <summary>Called once after <paramref name="entity"/> (as last seen) was deleted.</summary>
    Task DeletedAsync(TEntity entity, CancellationToken cancellationToken);
}

/// <summary>The outcome of a successful reconcile.</summary>
/// <param name="RequeueAfter">Reconcile again after this delay even without a change; null: only on change or resync.</param>
public sealed record ReconcileResult(TimeSpan? RequeueAfter = null)
{
    /// <summary>Done until something changes.</summary>
    public static ReconcileResult Done { get; } = new();

    /// <summary>Look again after <paramref name="delay"/> (for state the operator does not watch).</summary>
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}
