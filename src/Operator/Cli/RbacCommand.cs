using UserApiOperator.Runtime.Rbac;

namespace UserApiOperator.Cli;

/// <summary>
/// <c>userapi-operator rbac [--leader-election]</c>: prints the RBAC generated from the
/// <see cref="EntityRbacAttribute"/> declarations of the operator's code, exactly as committed:
/// the ClusterRole <c>config/rbac/role.yaml</c>, or with <c>--leader-election</c> the Role
/// <c>config/rbac/leader_election_role.yaml</c>.
/// </summary>
public static class RbacCommand
{
    private static readonly Type[] Declarations = typeof(RbacCommand).Assembly.GetTypes();

    /// <summary>The text of <c>config/rbac/role.yaml</c>.</summary>
    public static string RenderClusterRole() => RbacGenerator.Render(
        RbacGenerator.ClusterRole(Declarations),
        RbacGenerator.Grants(Declarations, RbacScope.Cluster),
        "Cluster-wide permissions of the operator: exactly the API calls its code declares, no wildcards.");

    /// <summary>The text of <c>config/rbac/leader_election_role.yaml</c>.</summary>
    public static string RenderLeaderElectionRole() => RbacGenerator.Render(
        RbacGenerator.LeaderElectionRole(Declarations),
        RbacGenerator.Grants(Declarations, RbacScope.LeaderElectionNamespace),
        "Leader election (--leader-elect), in the operator's own namespace only.");

    /// <summary>Runs the command.</summary>
    /// <param name="args">Arguments after <c>rbac</c>: none, or <c>--leader-election</c>.</param>
    /// <param name="stdout">Where the YAML goes.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>0 on success, 2 on a usage error.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        switch (args)
        {
            case []:
                stdout.Write(RenderClusterRole());
                return 0;
            case ["--leader-election"]:
                stdout.Write(RenderLeaderElectionRole());
                return 0;
            default:
                stderr.WriteLine($"rbac: unexpected argument \"{args[0]}\" (usage: userapi-operator rbac [--leader-election])");
                return 2;
        }
    }
}
