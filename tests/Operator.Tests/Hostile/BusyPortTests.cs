using System.Net;
using System.Net.Sockets;

namespace UserApiOperator.Tests.Hostile;

/// <summary>Case 6: a metrics or health port already in use ends the process with one clear line, not a crash.</summary>
[Collection(HostileCollection.Name)]
public sealed class BusyPortTests
{
    [Theory]
    [InlineData("--health-probe-bind-address")]
    [InlineData("--metrics-bind-address")]
    public async Task A_busy_port_is_one_line_naming_address_and_flag_and_a_non_zero_exit(string flag)
    {
        await using var world = await HostileWorld.StartAsync();
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var busy = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var process = flag == "--health-probe-bind-address"
            ? world.StartOperator("busy", healthPort: busy)
            : world.StartOperator("busy", metricsPort: busy);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var transcript = process.Transcript;
        Assert.True(code != 0, $"exit code 0 with {flag} on a busy port\n{transcript}");
        Assert.True(code != 134, $"exit 134 (abort: an unhandled exception) with {flag} on a busy port\n{transcript}");
        var naming = process.Lines.Where(l => l.Message.Contains($"127.0.0.1:{busy}", StringComparison.Ordinal) && l.Message.Contains(flag, StringComparison.Ordinal)).ToList();
        Assert.True(naming.Count == 1, $"expected one line naming 127.0.0.1:{busy} and {flag}\n{transcript}");
        Assert.DoesNotContain(process.Lines, l => l.Raw.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Raw.Contains("   at ", StringComparison.Ordinal));
    }
}
