namespace UserApiOperator.Controllers;

/// <summary>The objects a UserApi owns, in apply order.</summary>
public enum Child
{
    /// <summary>The password Secret <c>&lt;name&gt;-mysql</c> (or the referenced one).</summary>
    Secret,

    /// <summary>The Deployment <c>&lt;name&gt;</c>.</summary>
    Deployment,

    /// <summary>The Service <c>&lt;name&gt;</c>.</summary>
    Service,

    /// <summary>The Ingress <c>&lt;name&gt;</c>.</summary>
    Ingress,

    /// <summary>The HorizontalPodAutoscaler <c>&lt;name&gt;</c> (<c>spec.autoscaling</c>).</summary>
    HorizontalPodAutoscaler,

    /// <summary>The PodDisruptionBudget <c>&lt;name&gt;</c> (<c>spec.disruptionBudget</c>).</summary>
    PodDisruptionBudget,

    /// <summary>The NetworkPolicy <c>&lt;name&gt;</c> (<c>spec.networkPolicy</c>).</summary>
    NetworkPolicy,
}

/// <summary>What a reconcile did to one owned object; lower-case in logs (<c>deployment=updated</c>).</summary>
public enum ChildOutcome
{
    /// <summary>Already as desired: no write.</summary>
    Unchanged,

    /// <summary>Created.</summary>
    Created,

    /// <summary>Changed back to or on to the desired state.</summary>
    Updated,

    /// <summary>Deleted because it should not exist (Ingress, autoscaler or network policy disabled; disruption budget not wanted).</summary>
    Deleted,

    /// <summary>Not there and not wanted (Ingress disabled), or not ours to delete (another's Ingress).</summary>
    Absent,

    /// <summary>Not ours but used as it is: the Secret named by <c>spec.database.passwordSecretRef</c>, present with its key.</summary>
    Referenced,

    /// <summary>Left alone because of a problem (a missing referenced Secret, another controller's object).</summary>
    Blocked,
}

/// <summary>What one reconcile did to each owned object, in apply order.</summary>
public sealed class ReconcileReport
{
    private readonly SortedDictionary<Child, ChildOutcome> _outcomes = [];

    /// <summary>Outcome per object, in apply order.</summary>
    public IReadOnlyDictionary<Child, ChildOutcome> Outcomes => _outcomes;

    /// <summary>Records the outcome for <paramref name="child"/>.</summary>
    public ChildOutcome this[Child child]
    {
        get => _outcomes.GetValueOrDefault(child, ChildOutcome.Absent);
        set => _outcomes[child] = value;
    }

    /// <summary>The objects that were created, updated or deleted.</summary>
    public IEnumerable<KeyValuePair<Child, ChildOutcome>> Changed =>
        _outcomes.Where(p => p.Value is ChildOutcome.Created or ChildOutcome.Updated or ChildOutcome.Deleted);

    /// <summary>True when any object was created, updated or deleted.</summary>
    public bool AnyChanged => Changed.Any();
}
