using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace UserApiOperator.Tests.Hostile;

/// <summary>One line the operator wrote (stdout JSON, or stderr as is), with the time the test read it.</summary>
internal sealed record LogLine(DateTimeOffset At, string Stream, string Level, string Category, string Message, string Raw)
{
    public bool IsWarningOrWorse => Level is "Warning" or "Error" or "Critical" || Stream == "stderr";

    public override string ToString() => $"{At:HH:mm:ss.fff} {Level} {Category}: {Message}";
}

/// <summary>
/// The real operator process (<c>dotnet exec userapi-operator.dll</c>, as users run it) talking to the
/// API server through its own <see cref="TcpProxy"/>, with JSON logs and its health and metrics
/// endpoints on free loopback ports.
/// </summary>
internal sealed class OperatorProcess : IAsyncDisposable
{
    private readonly List<LogLine> _lines = [];
    private readonly Process _process;
    private readonly Task _stdout;
    private readonly Task _stderr;
    private readonly string _kubeconfig;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private OperatorProcess(string name, Process process, TcpProxy proxy, string kubeconfig, int healthPort, int metricsPort, string user)
    {
        Name = name;
        _process = process;
        Proxy = proxy;
        _kubeconfig = kubeconfig;
        HealthPort = healthPort;
        MetricsPort = metricsPort;
        User = user;
        _stdout = ReadAsync(process.StandardOutput, "stdout");
        _stderr = ReadAsync(process.StandardError, "stderr");
    }

    public string Name { get; }

    /// <summary>The API server user the process authenticates as (<c>system:serviceaccount:ns:name</c>).</summary>
    public string User { get; }

    public TcpProxy Proxy { get; }

    public int HealthPort { get; }

    public int MetricsPort { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<LogLine> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public string Transcript => string.Join("\n", Lines.Select(l => l.ToString()));

    /// <summary>
    /// Starts the operator with a kubeconfig pointing at <paramref name="proxy"/> and the
    /// token in <paramref name="kubeconfigYaml"/>. <paramref name="healthPort"/>/<paramref name="metricsPort"/> null: free ports.
    /// </summary>
    public static OperatorProcess Start(string name, TcpProxy proxy, string kubeconfigYaml, string user, IEnumerable<string> extraArgs, int? healthPort = null, int? metricsPort = null)
    {
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"hostile-{name}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(kubeconfig, kubeconfigYaml);
        var health = healthPort ?? TcpProxy.FreePort();
        var metrics = metricsPort ?? TcpProxy.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["exec", Support.OperatorBinary.Dll, "--kubeconfig", kubeconfig, "--log-format", "json",
                     $"--health-probe-bind-address=127.0.0.1:{health}", $"--metrics-bind-address=127.0.0.1:{metrics}", .. extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["POD_NAME"] = name;
        start.Environment.Remove("KUBECONFIG");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return new OperatorProcess(name, process, proxy, kubeconfig, health, metrics, user);
    }

    /// <summary>GET /readyz: the status code, or 0 when nothing answers.</summary>
    public async Task<int> ReadyzAsync() => (await GetAsync(HealthPort, "/readyz")).Code;

    /// <summary>GET /metrics (Prometheus text), empty when nothing answers.</summary>
    public async Task<string> MetricsAsync() => (await GetAsync(MetricsPort, "/metrics")).Body;

    /// <summary>Waits until /readyz answers <paramref name="code"/>.</summary>
    public async Task WaitForReadyzAsync(int code, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        var last = -1;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await ReadyzAsync();
            if (last == code)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name}: /readyz answered {last}, not {code}, for {timeout.TotalSeconds:0} s\n{Transcript}");
    }

    public Task<LogLine> WaitForLineAsync(Func<LogLine, bool> match, TimeSpan timeout) => WaitForLineAsync(match, timeout, DateTimeOffset.MinValue);

    public async Task<LogLine> WaitForLineAsync(Func<LogLine, bool> match, TimeSpan timeout, DateTimeOffset after)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if (Lines.FirstOrDefault(l => l.At >= after && match(l)) is { } line)
            {
                return line;
            }

            if (DateTimeOffset.UtcNow > deadline || HasExited)
            {
                throw new TimeoutException($"{Name}: no such log line within {timeout.TotalSeconds:0} s (exited: {HasExited})\n{Transcript}");
            }

            await Task.Delay(100);
        }
    }

    public void Kill() => _process.Kill(entireProcessTree: true); // SIGKILL

    /// <summary>Sends SIGTERM (a clean stop, as the kubelet asks for one) and waits for the exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        await Task.WhenAll(_stdout, _stderr);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        try
        {
            await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _process.Dispose();
        _http.Dispose();
        await Proxy.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private async Task<(int Code, string Body)> GetAsync(int port, string path)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, "");
        }
    }

    private async Task ReadAsync(StreamReader reader, string stream)
    {
        while (await reader.ReadLineAsync() is { } raw)
        {
            var line = Parse(raw, stream);
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }

    private static LogLine Parse(string raw, string stream)
    {
        var at = DateTimeOffset.UtcNow;
        if (stream == "stdout" && raw.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(raw);
                var root = doc.RootElement;
                string Prop(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "";
                // The operator's own timestamp (taken when it logged), not when this process read the
                // line: on a busy machine the reader can lag by seconds.
                if (DateTimeOffset.TryParse(Prop("Timestamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var logged))
                {
                    at = logged;
                }

                return new LogLine(at, stream, Prop("LogLevel"), Prop("Category"), Prop("Message"), raw);
            }
            catch (JsonException)
            {
            }
        }

        return new LogLine(at, stream, stream == "stderr" ? "stderr" : "", "", raw, raw);
    }

    /// <summary>The value of a metric line (<c>name{labels} value</c>) whose name and labels contain every fragment, summed.</summary>
    public static double MetricSum(string metrics, params string[] fragments) =>
        metrics.Split('\n')
            .Where(l => !l.StartsWith('#') && l.Length > 0 && fragments.All(f => l.Contains(f, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture));

    /// <summary>Whether <c>127.0.0.1:port</c> accepts connections.</summary>
    public static bool Listening(int port)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
