using System.Globalization;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime.Manager;
using UserApiOperator.Runtime.Reconciliation;

namespace UserApiOperator.Hosting;

/// <summary>
/// Command-line options of the live operator (<c>userapi-operator [flags]</c>), named as
/// controller-runtime based operators name them.
/// </summary>
public sealed record OperatorOptions
{
    /// <summary>Usage text, one flag per line.</summary>
    public const string Usage = """
        usage: userapi-operator [flags]

        Watches UserApi resources and keeps their Secret, Deployment, Service and Ingress in the
        desired state. Connects with --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the
        in-cluster service account.

          --kubeconfig PATH                   kubeconfig file
          --context NAME                      kubeconfig context (default: its current-context)
          --namespace NS                      watch one namespace (default: all namespaces)
          --max-concurrent-reconciles N       reconciles at once, each for a different UserApi (default 2)
          --resync-period DURATION            reconcile every UserApi this often even without change (default 10m)
          --log-format text|json              log lines as text or JSON objects (default text)
          --log-level LEVEL                   Trace, Debug, Information, Warning or Error (default Information)
          --leader-elect                      only the holder of a Lease reconciles (run several replicas safely)
          --leader-election-namespace NS      namespace of the Lease (default: $POD_NAMESPACE, else the in-cluster namespace, else default)
          --leader-election-id NAME           name of the Lease (default userapi-operator-leader)
          --health-probe-bind-address ADDR    serve /healthz and /readyz on ADDR (default :8081; 0 turns it off)
          --metrics-bind-address ADDR         serve Prometheus /metrics on ADDR (default :8080; 0 turns it off)
        """;

    /// <summary><c>--kubeconfig</c>: kubeconfig path; null to search the default places.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary><c>--context</c>: kubeconfig context; null for the current one.</summary>
    public string? Context { get; init; }

    /// <summary><c>--namespace</c>: the one namespace to watch; null for all.</summary>
    public string? Namespace { get; init; }

    /// <summary><c>--max-concurrent-reconciles</c>, 1..100, default 2.</summary>
    public int MaxConcurrentReconciles { get; init; } = 2;

    /// <summary><c>--resync-period</c>, default 10 minutes.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary><c>--log-format</c>: true for JSON lines.</summary>
    public bool JsonLogs { get; init; }

    /// <summary><c>--log-level</c>, default Information.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary><c>--leader-elect</c>: reconcile only while holding the Lease.</summary>
    public bool LeaderElect { get; init; }

    /// <summary><c>--leader-election-namespace</c>; null for the default (see <see cref="Usage"/>).</summary>
    public string? LeaderElectionNamespace { get; init; }

    /// <summary><c>--leader-election-id</c>: name of the Lease.</summary>
    public string LeaderElectionId { get; init; } = "userapi-operator-leader";

    /// <summary>Lease duration, renew deadline and retry period: 15 s, 10 s, 2 s (client-go's defaults; not flags, tests shorten them).</summary>
    public (TimeSpan Lease, TimeSpan RenewDeadline, TimeSpan Retry) LeaderElectionTimings { get; init; } =
        (TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));

    /// <summary><c>--health-probe-bind-address</c>, default <c>:8081</c>; <c>0</c> turns it off.</summary>
    public string HealthProbeBindAddress { get; init; } = ":8081";

    /// <summary><c>--metrics-bind-address</c>, default <c>:8080</c>; <c>0</c> turns it off.</summary>
    public string MetricsBindAddress { get; init; } = ":8080";

    /// <summary>The controller options these flags give.</summary>
    public ControllerOptions Controller => new() { MaxConcurrentReconciles = MaxConcurrentReconciles, ResyncPeriod = ResyncPeriod };

    /// <summary>Parses flags (<c>--flag value</c> or <c>--flag=value</c>).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="options">The options, when parsing succeeded.</param>
    /// <param name="error">A one-line message naming the flag at fault, when it failed.</param>
    /// <returns>True on success.</returns>
    public static bool TryParse(IReadOnlyList<string> args, out OperatorOptions options, out string? error)
    {
        options = new OperatorOptions();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var flag = equals > 0 ? arg[..equals] : arg;
            string Value()
            {
                if (equals > 0)
                {
                    return arg[(equals + 1)..];
                }

                if (i + 1 >= args.Count)
                {
                    throw new FormatException($"{flag} needs a value");
                }

                return args[++i];
            }

            try
            {
                options = flag switch
                {
                    "--kubeconfig" => options with { Kubeconfig = Value() },
                    "--context" => options with { Context = Value() },
                    "--namespace" or "-n" => options with { Namespace = NamespaceName(Value()) },
                    "--max-concurrent-reconciles" => options with { MaxConcurrentReconciles = Count(flag, Value()) },
                    "--resync-period" => options with { ResyncPeriod = Period(flag, Value()) },
                    "--log-format" => options with { JsonLogs = Value() switch { "json" => true, "text" => false, var v => throw new FormatException($"--log-format must be text or json, got \"{v}\"") } },
                    "--log-level" => options with { LogLevel = Level(Value()) },
                    "--leader-elect" => options with { LeaderElect = equals < 0 || Bool(flag, arg[(equals + 1)..]) },
                    "--leader-election-namespace" => options with { LeaderElectionNamespace = NamespaceName(Value()) },
                    "--leader-election-id" => options with { LeaderElectionId = LeaseName(Value()) },
                    "--health-probe-bind-address" => options with { HealthProbeBindAddress = Address(flag, Value()) },
                    "--metrics-bind-address" => options with { MetricsBindAddress = Address(flag, Value()) },
                    _ => throw new FormatException($"unknown flag \"{arg}\""),
                };
            }
            catch (FormatException e)
            {
                error = e.Message;
                return false;
            }
        }

        return true;
    }

    private static string NamespaceName(string value) =>
        value.Length <= 63 && System.Text.RegularExpressions.Regex.IsMatch(value, "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
            ? value
            : throw new FormatException($"--namespace \"{value}\" is not a valid namespace name");

    private static bool Bool(string flag, string value) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException($"{flag} takes no value, or =true or =false, got \"{value}\""),
    };

    private static string LeaseName(string value) =>
        value.Length <= 253 && System.Text.RegularExpressions.Regex.IsMatch(value, "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
            ? value
            : throw new FormatException($"--leader-election-id \"{value}\" is not a valid Lease name");

    private static string Address(string flag, string value) =>
        BindAddress.TryParse(value, out _)
            ? value
            : throw new FormatException($"{flag} must be :PORT, HOST:PORT or 0, got \"{value}\"");

    private static int Count(string flag, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100
            ? n
            : throw new FormatException($"{flag} must be a whole number from 1 to 100, got \"{value}\"");

    private static TimeSpan Period(string flag, string value) =>
        Duration.TryParse(value, out var period)
            ? period
            : throw new FormatException($"{flag} must be a duration such as 30s, 10m or 1h, got \"{value}\"");

    private static LogLevel Level(string value) =>
        Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level) && Enum.IsDefined(level)
            ? level
            : throw new FormatException($"--log-level must be Trace, Debug, Information, Warning or Error, got \"{value}\"");
}
