using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace UserApiOperator.EndToEnd;

/// <summary>
/// Requests in a loop through the Ingress (GET <c>/users</c> with a Host header, one after the
/// other, 20 ms apart) until stopped: what a user of the API sees while the cluster is disrupted.
/// A request fails when it raises or answers anything but 200.
/// </summary>
public sealed class RequestLoop : IAsyncDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(1), UseProxy = false })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _ok;

    /// <summary>Starts the loop against <paramref name="ingress"/> with Host <paramref name="host"/>.</summary>
    public RequestLoop(Uri ingress, string host)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(ingress, "/users"));
                request.Headers.Host = host;
                try
                {
                    using var response = await Http.SendAsync(request, _stop.Token);
                    if ((int)response.StatusCode == 200) Interlocked.Increment(ref _ok);
                    else Failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(_stop.Token)}");
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {e.GetType().Name}: {e.Message}");
                }
                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    /// <summary>Requests answered 200.</summary>
    public int Succeeded => Volatile.Read(ref _ok);

    /// <summary>Each failed request: when, and what.</summary>
    public ConcurrentBag<string> Failures { get; } = [];

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>
/// Watches how many of a UserApi's Pods are available (Ready and not being deleted) by polling
/// <c>kubectl get pods</c> until stopped, and keeps the lowest count seen.
/// </summary>
public sealed class AvailabilityMonitor : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _lowest = int.MaxValue;
    private int _samples;

    /// <summary>Starts polling the Pods of <paramref name="selector"/>.</summary>
    public AvailabilityMonitor(LocalClusterFixture cluster, string selector)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await cluster.KubectlAsync("get", "pods", "-l", selector, "-o", "json");
                if (r.ExitCode == 0)
                {
                    var available = JsonNode.Parse(r.Output)!["items"]!.AsArray().Count(p => p!["metadata"]!["deletionTimestamp"] is null && MultiNodeTests.IsReady(p));
                    Interlocked.Exchange(ref _lowest, Math.Min(_lowest, available));
                    Interlocked.Increment(ref _samples);
                }
                try
                {
                    await Task.Delay(200, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    /// <summary>The fewest available Pods seen.</summary>
    public int Lowest => Volatile.Read(ref _lowest);

    /// <summary>How many times the Pods were looked at.</summary>
    public int Samples => Volatile.Read(ref _samples);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>wrk (Debian's package, /usr/bin/wrk) putting load on a URL until stopped.</summary>
public sealed class Wrk : IDisposable
{
    private readonly Process _process;

    /// <summary>Starts <c>wrk -t2 -c CONNECTIONS -d SECONDS -H "Host: HOST" URL</c>.</summary>
    public Wrk(Uri url, string host, int connections, TimeSpan duration)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "-H", $"Host: {host}", url.ToString()]) info.ArgumentList.Add(a);
        _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start wrk");
        Output = _process.StandardOutput.ReadToEndAsync();
        _ = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>wrk's report (complete once it exits).</summary>
    public Task<string> Output { get; }

    /// <summary>Stops wrk (SIGINT, so that it prints its report) and waits for it.</summary>
    public async Task<string> StopAsync()
    {
        if (!_process.HasExited) _ = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
        return await Output;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
