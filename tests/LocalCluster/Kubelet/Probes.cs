using System.Diagnostics;
using System.Net.Sockets;
using k8s.Models;

namespace LocalCluster.Kubelet;

/// <summary>
/// Runs a container's probes for real, as the kubelet's prober does (pkg/kubelet/prober): httpGet
/// from the node to the Pod's address (2xx and 3xx succeed, redirects are not followed), tcpSocket
/// connects from the node, exec runs the command inside the container (<c>runc exec</c>, with the
/// container's user, capabilities, environment and namespaces, as the CRI's ExecSync does). Defaults from the Probe API: period 10 s, timeout 1 s,
/// success threshold 1, failure threshold 3.
/// </summary>
internal static class Probes
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        UseProxy = false,
    });

    /// <summary>One probe; null when it succeeded, else why it failed (the kubelet's event message).</summary>
    public static async Task<string?> RunAsync(V1Probe probe, V1Container container, string podIp, LocalCluster.Runtime.Runc runc, string containerId, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(probe.TimeoutSeconds is > 0 ? probe.TimeoutSeconds.Value : 1);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            if (probe.HttpGet is { } get)
            {
                var scheme = string.Equals(get.Scheme, "HTTPS", StringComparison.OrdinalIgnoreCase) ? "https" : "http";
                var port = Port(get.Port, container);
                var url = new Uri($"{scheme}://{get.Host ?? podIp}:{port}{(get.Path is { Length: > 0 } p ? (p.StartsWith('/') ? p : "/" + p) : "/")}");
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.ConnectionClose = true;
                request.Headers.UserAgent.ParseAdd("kube-probe/1.31");
                foreach (var h in get.HttpHeaders ?? []) request.Headers.TryAddWithoutValidation(h.Name, h.Value);
                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var code = (int)response.StatusCode;
                return code is >= 200 and < 400 ? null : $"HTTP probe failed with statuscode: {code}";
            }
            if (probe.TcpSocket is { } tcp)
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(tcp.Host ?? podIp, Port(tcp.Port, container), cts.Token);
                return null;
            }
            if (probe.Exec is { Command: { Count: > 0 } command })
            {
                var psi = runc.StartInfo(["exec", containerId, .. command]);
                using var p = Process.Start(psi)!;
                p.StandardInput.Close();
                var output = p.StandardOutput.ReadToEndAsync(cts.Token);
                try
                {
                    await p.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    p.Kill(entireProcessTree: true);
                    throw;
                }
                return p.ExitCode == 0 ? null : $"exec probe failed with exit code {p.ExitCode}: {(await output).Trim()}";
            }
            return "probe has no handler this kubelet supports (httpGet, tcpSocket, exec)";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"probe timed out after {timeout.TotalSeconds:0} s (context deadline exceeded)";
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or System.ComponentModel.Win32Exception)
        {
            return e.InnerException is SocketException s ? $"dial tcp {podIp}: {s.Message}" : e.Message;
        }
    }

    /// <summary>A probe's port: a number, or the name of one of the container's ports.</summary>
    public static int Port(IntOrString port, V1Container container)
    {
        var text = port.Value;
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)) return n;
        return container.Ports?.FirstOrDefault(p => p.Name == text)?.ContainerPort
            ?? throw new InvalidOperationException($"container {container.Name} has no port named {text}");
    }
}
