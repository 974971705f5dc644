using Microsoft.Extensions.Logging;
using UserApiOperator.Hosting;

namespace UserApiOperator.Tests.Runtime;

public class OperatorOptionsTests
{
    [Fact]
    public void Defaults_follow_the_issue()
    {
        Assert.True(OperatorOptions.TryParse([], out var options, out _));

        Assert.Equal((2, TimeSpan.FromMinutes(10), null, false, LogLevel.Information), (options.MaxConcurrentReconciles, options.ResyncPeriod, options.Namespace, options.JsonLogs, options.LogLevel));
    }

    [Fact]
    public void Flags_take_separate_or_equals_values()
    {
        Assert.True(OperatorOptions.TryParse(["--kubeconfig", "/k", "--namespace=team-a", "--max-concurrent-reconciles", "4", "--resync-period=1h30m", "--log-format", "json", "--log-level=debug", "--context", "kind-dev"], out var o, out _));

        Assert.Equal(("/k", "team-a", 4, TimeSpan.FromMinutes(90), true, LogLevel.Debug, "kind-dev"), (o.Kubeconfig, o.Namespace, o.MaxConcurrentReconciles, o.ResyncPeriod, o.JsonLogs, o.LogLevel, o.Context));
    }

    [Theory]
    [InlineData("--max-concurrent-reconciles=0", "--max-concurrent-reconciles must be a whole number from 1 to 100, got \"0\"")]
    [InlineData("--resync-period=soon", "--resync-period must be a duration such as 30s, 10m or 1h, got \"soon\"")]
    [InlineData("--log-format=xml", "--log-format must be text or json, got \"xml\"")]
    [InlineData("--namespace=Team_A", "--namespace \"Team_A\" is not a valid namespace name")]
    [InlineData("--kubeconfig", "--kubeconfig needs a value")]
    [InlineData("--frobnicate", "unknown flag \"--frobnicate\"")]
    public void Bad_flags_name_the_flag(string arg, string error)
    {
        Assert.False(OperatorOptions.TryParse([arg], out _, out var message));
        Assert.Equal(error, message);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("10m", 600_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_parse_like_kubernetes_tools(string text, int millis)
    {
        Assert.True(Duration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(millis), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("5 m")]
    public void Bad_durations_are_refused(string text) => Assert.False(Duration.TryParse(text, out _));
}
