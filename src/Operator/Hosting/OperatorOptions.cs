using System.Globalization;
using Microsoft.Extensions.Logging;
using UserApiOperator.Runtime;

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
