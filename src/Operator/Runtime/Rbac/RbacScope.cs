namespace UserApiOperator.Runtime.Rbac;

/// <summary>Where a grant declared with <see cref="EntityRbacAttribute"/> applies.</summary>
public enum RbacScope
{
    /// <summary>Every namespace the operator watches: a rule of the manager's ClusterRole (<c>config/rbac/role.yaml</c>).</summary>
    Cluster,

    /// <summary>
    /// The operator's own namespace only, where its leader-election Lease lives: a rule of the
    /// leader-election Role (<c>config/rbac/leader_election_role.yaml</c>).
    /// </summary>
    LeaderElectionNamespace,
}
