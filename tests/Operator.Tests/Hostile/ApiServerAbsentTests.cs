using Xunit.Abstractions;
using System.Diagnostics;

namespace UserApiOperator.Tests.Hostile;

/// <summary>Case 1: the API server unreachable at start and for a while; the operator waits politely and resumes by itself.</summary>
[Collection(HostileCollection.Name)]
public sealed class ApiServerAbsentTests(ITestOutputHelper output)
{
    /// <summary>
    /// Long enough for a backoff whose reset moment is never moved (issue 9, defect 3) to collapse:
    /// its delay reaches ~27 s, and the first failure after that, some 50 s in, starts again at 200 ms.
    /// </summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The reference is client-go's reflector (k8s.io/client-go/tools/cache/reflector.go,
    /// <c>NewReflectorWithOptions</c>: <c>wait.NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)</c>),
    /// one backoff per watcher: retries after 0.8, 1.6, 3.2, 6.4, 12.8, 25.6 s, then every 30 s, each
    /// stretched by up to 100 % jitter. Over 60 s that is at most 8 attempts per watcher; in its second
    /// half (30-60 s), where only the 25.6 s and 30 s steps can fall, at most 2. The bounds below allow
    /// an implementation starting lower (the operator's informers start at 200 ms, adding two doublings,
    /// ±20 % jitter) and leave room: 12 attempts per watcher in all, 4 in the second half. A collapsed
    /// backoff (200 ms for good) makes ~100 per watcher in the second half alone.
    /// </summary>
    private const int MaxAttemptsPerWatcher = 12;

    private const int MaxAttemptsPerWatcherSecondHalf = 4;

    [Fact]
    public async Task Absent_at_start_for_60_s_then_back_retries_stay_bounded_readyz_says_not_ready_and_the_sample_is_reconciled_within_30_s()
    {
        await using var world = await HostileWorld.StartAsync();
        await world.ApplySampleAsync(); // The user's change, stored while the operator cannot see it.
        // First half: nothing listens (connection refused). Second half: the port accepts and drops every
        // connection (a load balancer with no backend), so the proxy can count the attempts.
        var op = world.StartOperator("absent", proxyMode: ProxyMode.Refuse);
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();

        var readyz = new List<int>();
        while (clock.Elapsed < Outage)
        {
            if (clock.Elapsed >= Outage / 2)
            {
                op.Proxy.Mode = ProxyMode.Reset;
            }

            var code = await op.ReadyzAsync();
            if (code != 0)
            {
                readyz.Add(code);
            }

            Assert.False(op.HasExited, $"the operator exited ({(op.HasExited ? op.ExitCode : 0)}) while the API server was away\n{op.Transcript}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        var half = start + (Outage / 2);
        var end = start + Outage;
        var lines = op.Lines.Where(l => l.At <= end).ToList();
        var connections = op.Proxy.Accepted.Where(t => t <= end).ToList();
        var watchers = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l.Message, "^Watch of (\\S+) failed")).Where(m => m.Success)
            .Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Count();
        var report = $"{watchers} watchers; {connections.Count} connections and {lines.Count} log lines in {Outage.TotalSeconds:0} s, "
            + $"{connections.Count(t => t >= half)} connections and {lines.Count(l => l.At >= half)} lines in the second half";

        output.WriteLine(report);
        output.WriteLine(op.Transcript);

        // It must have tried (else the bound proves nothing). Each attempt is one Warning line, stamped
        // by the operator when it failed; the proxy's count is taken by this process, which a busy
        // machine can delay, so only its total is bounded.
        Assert.True(watchers >= 1, $"no attempt to reach the API server: {report}\n{op.Transcript}");
        Assert.True(connections.Count <= (watchers * MaxAttemptsPerWatcher) + 2, $"the retry delay collapsed: {report}\n{Tail(op, half)}");
        Assert.True(lines.Count <= (watchers * MaxAttemptsPerWatcher) + 20, $"too many log lines: {report}");
        Assert.True(lines.Count(l => l.At >= half) <= (watchers * MaxAttemptsPerWatcherSecondHalf) + 2, $"log lines kept coming: {report}\n{Tail(op, half)}");

        // /readyz answered throughout, and never ok: nothing has been listed.
        Assert.True(readyz.Count >= Outage.TotalSeconds / 2, $"/readyz answered only {readyz.Count} times");
        Assert.All(readyz, code => Assert.Equal(503, code));

        // The server comes back: the sample is reconciled within 30 s, and the operator becomes ready.
        op.Proxy.Mode = ProxyMode.Forward;
        await world.WaitReconciledAsync("userapi-sample", TimeSpan.FromSeconds(30), op);
        await op.WaitForReadyzAsync(200, TimeSpan.FromSeconds(5));
        Assert.Empty(world.Api.ServerErrors);
    }

    private static string Tail(OperatorProcess op, DateTimeOffset after) =>
        string.Join("\n", op.Lines.Where(l => l.At >= after).Take(20).Select(l => l.ToString()));
}
