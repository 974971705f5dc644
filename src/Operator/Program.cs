using UserApiOperator.Cli;

// userapi-operator: the UserApi operator's command line. Subcommands that need no cluster:
//   crd              print the CustomResourceDefinition generated from the C# types
//   render -f FILE   print the objects the operator would apply for the UserApis in FILE
return args switch
{
    ["crd", .. var rest] => CrdCommand.Run(rest, Console.Out, Console.Error),
    ["render", .. var rest] => RenderCommand.Run(rest, Console.Out, Console.Error),
    ["-h" or "--help" or "help"] => Help(Console.Out, 0),
    _ => Help(Console.Error, 2),
};

static int Help(TextWriter writer, int exitCode)
{
    writer.WriteLine("""
        usage: userapi-operator <command>

          crd              print the UserApi CustomResourceDefinition (YAML)
          render -f FILE   print the Secret, Deployment, Service and Ingress for the UserApis in FILE (YAML)
        """);
    return exitCode;
}
