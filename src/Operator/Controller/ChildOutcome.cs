namespace UserApiOperator.Controller;

/// <summary>What a reconcile did to one owned object; lower-case in logs (<c>deployment=updated</c>).</summary>
public enum ChildOutcome
{
    /// <summary>Already as desired: no write.</summary>
    Unchanged,

    /// <summary>Created.</summary>
    Created,

    /// <summary>Changed back to or on to the desired state.</summary>
    Updated,

    /// <summary>Deleted because it should not exist (Ingress disabled).</summary>
    Deleted,

    /// <summary>Not there and not wanted (Ingress disabled), or not ours to manage (a referenced Secret).</summary>
    Absent,

    /// <summary>Left alone because of a problem (a missing referenced Secret, another controller's object).</summary>
    Blocked,
}
