using UserApiOperator.Cli;

namespace UserApiOperator.Tests.Rbac;

/// <summary>config/rbac is what the code's [EntityRbac] declarations generate (regenerate with hack/update-rbac.sh).</summary>
public sealed class RbacDriftTests
{
    [Theory]
    [InlineData("config/rbac/role.yaml", false)]
    [InlineData("config/rbac/leader_election_role.yaml", true)]
    public void Committed_rbac_is_what_the_declarations_generate(string file, bool leaderElection)
    {
        var generated = leaderElection ? RbacCommand.RenderLeaderElectionRole() : RbacCommand.RenderClusterRole();
        Assert.True(
            File.ReadAllText(Repository.PathOf(file)) == generated,
            $"{file} differs from the [EntityRbac] declarations in src/Operator: run hack/update-rbac.sh and commit the result.");
    }

    [Fact]
    public void The_command_prints_each_role_and_refuses_other_arguments()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, RbacCommand.Run([], output, error));
        Assert.Equal(RbacCommand.RenderClusterRole(), output.ToString());
        Assert.Equal(2, RbacCommand.Run(["--bogus"], output, error));
        Assert.Contains("unexpected argument \"--bogus\"", error.ToString(), StringComparison.Ordinal);
    }
}
