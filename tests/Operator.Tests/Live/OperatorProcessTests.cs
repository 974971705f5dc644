using System.Diagnostics;
using System.Text.Json;
using KubeApiFake;
using UserApiOperator.Cli;

namespace UserApiOperator.Tests.Live;

/// <summary>The operator as users run it: the real process, its flags, its log lines, SIGTERM.</summary>
public sealed class OperatorProcessTests
{
    [Fact]
    public async Task The_process_reconciles_logs_json_lines_and_exits_0_on_SIGTERM()
    {
        await using var api = await FakeKubeApiServer.StartAsync();
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"operator-process-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(kubeconfig, api.KubeconfigYaml());
        try
        {
            var start = new ProcessStartInfo("dotnet", ["exec", Support.OperatorBinary.Dll, "--kubeconfig", kubeconfig, "--log-format", "json", "--health-probe-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var lines = new List<string>();
            var reading = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (lines)
                    {
                        lines.Add(line);
                    }
                }
            });
            var stderr = process.StandardError.ReadToEndAsync();

            await api.ApplyAsync(CrdCommand.Render());
            await api.ApplyAsync(await File.ReadAllTextAsync(Repository.PathOf("config/samples/userapi.yaml")));

            await api.WaitForObjectAsync(KnownResources.Ingresses, "default", "userapi-sample", null, TimeSpan.FromSeconds(30));
            await api.WaitForAsync(() => Snapshot(lines).Any(l => l.Contains("Reconciled default/userapi-sample", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            await reading;

            var errors = await stderr;
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {errors}");
            Assert.Equal("", errors);
            var entries = Snapshot(lines).Select(l => JsonDocument.Parse(l).RootElement).ToList(); // Every line is one JSON object.
            var reconciled = entries.First(e => e.GetProperty("Message").GetString()!.StartsWith("Reconciled default/userapi-sample:", StringComparison.Ordinal));
            Assert.Equal("Information", reconciled.GetProperty("LogLevel").GetString());
            Assert.Matches(@"secret=created deployment=created service=created ingress=created poddisruptionbudget=created networkpolicy=created ready=0/3 \(\d+ ms\)$", reconciled.GetProperty("Message").GetString());
            Assert.Contains(entries, e => e.GetProperty("Message").GetString() == "Application is shutting down...");
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task A_missing_kubeconfig_is_one_line_and_exit_1()
    {
        var start = new ProcessStartInfo("dotnet", ["exec", Support.OperatorBinary.Dll, "--kubeconfig", "/nonexistent/kubeconfig"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(1, process.ExitCode);
        Assert.StartsWith("userapi-operator: ", stderr, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/kubeconfig", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    private static List<string> Snapshot(List<string> lines)
    {
        lock (lines)
        {
            return [.. lines];
        }
    }
}
