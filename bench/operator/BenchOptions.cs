using System.Globalization;

namespace UserApiOperator.Bench;

/// <summary>The benchmark's command line (see <see cref="Usage"/>).</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        usage: Operator.Bench --operator PATH/userapi-operator.dll [options] [--operator-args FLAG...]
          --count N               UserApis to create (default 1000)
          --idle SECONDS          idle phase after all are Ready (default 60; 0: none)
          --resync SECONDS        the operator's --resync-period (default 20), so that idle spans forced resyncs
          --reconnects ROUNDS     rounds of watch ends as their timeout ends them (default 1000; 0: none)
          --empty-ends ROUNDS     rounds of watch ends without a last event, each after the watches lived over 1 s (default 30; 0: none)
          --memory-limit SIZE     run the operator in a cgroup v1 memory cgroup of SIZE (256Mi, 1Gi, ...) from its start
          --connect MODE          in-cluster (default as root): service account files and KUBERNETES_SERVICE_HOST/PORT, over
                                  HTTPS, as in its Pod; kubeconfig (default otherwise): a kubeconfig file, plain HTTP
          --baseline PATH.dll     run the same benchmark first against this build ("before"), then --operator ("after")
          --operator-env K=V      an environment variable for the operator (repeatable)
          --operator-args ...     every further argument goes to the operator
        """;

    public int Count { get; init; } = 1000;

    public int IdleSeconds { get; init; } = 60;

    public int ResyncSeconds { get; init; } = 20;

    public int ReconnectRounds { get; init; } = 1000;

    public int EmptyEndRounds { get; init; } = 30;

    public long? MemoryLimit { get; init; }

    public string? MemoryLimitText { get; init; }

    /// <summary>True: the operator connects as in its Pod (<see cref="InClusterConnection"/>); false: with a kubeconfig file over plain HTTP.</summary>
    public bool InCluster { get; init; }

    public required string Operator { get; init; }

    public string? Baseline { get; init; }

    public IReadOnlyList<string> OperatorEnvironment { get; init; } = [];

    public IReadOnlyList<string> OperatorArguments { get; init; } = [];

    /// <exception cref="ArgumentException">A malformed or missing argument.</exception>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        string? operatorDll = null, baseline = null, memoryLimit = null;
        var inCluster = InClusterConnection.Available;
        int count = 1000, idle = 60, resync = 20, reconnects = 1000, emptyEnds = 30;
        var environment = new List<string>();
        var operatorArgs = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Number() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{args[i - 1]}: not a number: {args[i]}");
            switch (args[i])
            {
                case "--operator": operatorDll = Value(); break;
                case "--baseline": baseline = Value(); break;
                case "--count": count = Number(); break;
                case "--idle": idle = Number(); break;
                case "--resync": resync = Number(); break;
                case "--reconnects": reconnects = Number(); break;
                case "--empty-ends": emptyEnds = Number(); break;
                case "--memory-limit": memoryLimit = Value(); break;
                case "--connect":
                    inCluster = Value() switch
                    {
                        "in-cluster" => InClusterConnection.Available ? true : throw new ArgumentException("--connect in-cluster needs root and unshare (a mount namespace for the service account files)"),
                        "kubeconfig" => false,
                        var other => throw new ArgumentException($"--connect {other}: expected in-cluster or kubeconfig"),
                    };
                    break;
                case "--operator-env":
                    var pair = Value();
                    environment.Add(pair.Contains('=', StringComparison.Ordinal) ? pair : throw new ArgumentException($"--operator-env {pair}: expected NAME=VALUE"));
                    break;
                case "--operator-args": operatorArgs.AddRange(args.Skip(i + 1)); i = args.Count; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        if (count < 1 || resync < 1)
        {
            throw new ArgumentException("--count and --resync must be at least 1");
        }

        return new BenchOptions
        {
            Operator = Path.GetFullPath(operatorDll ?? throw new ArgumentException("--operator PATH/userapi-operator.dll is required")),
            Baseline = baseline is null ? null : Path.GetFullPath(baseline),
            Count = count,
            IdleSeconds = idle,
            ResyncSeconds = resync,
            ReconnectRounds = reconnects,
            EmptyEndRounds = emptyEnds,
            MemoryLimit = memoryLimit is null ? null : MemoryCgroup.ParseQuantity(memoryLimit),
            MemoryLimitText = memoryLimit,
            InCluster = inCluster,
            OperatorEnvironment = environment,
            OperatorArguments = operatorArgs,
        };
    }
}
