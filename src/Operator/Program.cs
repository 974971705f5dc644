using UserApiOperator.Cli;
using UserApiOperator.Hosting;

// userapi-operator: with no command, runs the operator against the cluster (see --help).
// Commands that need no cluster:
//   crd              print the CustomResourceDefinition generated from the C# types
//   render -f FILE   print the objects the operator would apply for the UserApis in FILE
//   rbac             print the RBAC generated from the code's [EntityRbac] declarations
return args switch
{
    ["crd", .. var rest] => CrdCommand.Run(rest, Console.Out, Console.Error),
    ["render", .. var rest] => RenderCommand.Run(rest, Console.Out, Console.Error),
    ["rbac", .. var rest] => RbacCommand.Run(rest, Console.Out, Console.Error),
    ["-h" or "--help" or "help"] => Help(),
    _ => await OperatorHost.RunAsync(args, Console.Error),
};

static int Help()
{
    Console.WriteLine(OperatorOptions.Usage);
    Console.WriteLine("""

        commands (no cluster needed):
          crd                                 print the UserApi CustomResourceDefinition (YAML)
          render -f FILE                      print the Secret, Deployment, Service and Ingress for the UserApis in FILE (YAML)
          rbac [--leader-election]            print the ClusterRole (or the leader-election Role) the code declares (YAML)
        """);
    return 0;
}
