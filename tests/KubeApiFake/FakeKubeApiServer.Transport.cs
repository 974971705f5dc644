using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KubeApiFake;

/// <summary>The listener (port, HTTP or HTTPS) and the access log (see <see cref="FakeKubeApiServerOptions.AccessLog"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    private int _port;

    /// <summary>
    /// The address Pods reach this server at (<see cref="FakeKubeApiServerOptions.AdvertiseAddress"/>,
    /// 127.0.0.1 when unset); it listens there on the same port as on 127.0.0.1.
    /// </summary>
    public IPAddress AdvertisedAddress => Options.AdvertiseAddress ?? IPAddress.Loopback;

    private static IEnumerable<IPAddress> ServingAddresses(FakeKubeApiServerOptions options)
    {
        if (options.AdvertiseAddress is { } advertised) yield return advertised;
        if (options.EmulateCluster) yield return IPAddress.Parse(ResourceStore.KubernetesServiceIp);
    }

    private static IEnumerable<string> ServingNames(FakeKubeApiServerOptions options) =>
        options.EmulateCluster ? ServingCertificates.ClusterNames : [];

    private void Listen(KestrelServerOptions kestrel)
    {
        foreach (var address in new[] { IPAddress.Loopback, AdvertisedAddress }.Distinct())
        {
            kestrel.Listen(address, _port, listen =>
            {
                if (Certificate is { } certificate) listen.UseHttps(certificate);
            });
        }
    }

    /// <summary>
    /// A port free on both 127.0.0.1 and the advertised address (Kestrel picks port 0 per listener, so
    /// two listeners would get two ports). Another process may take it before Kestrel binds; the
    /// start then fails with an <see cref="IOException"/>, as with a busy fixed port.
    /// </summary>
    private int FreePortOnBothAddresses()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var first = new TcpListener(AdvertisedAddress, 0);
            first.Start();
            var port = ((IPEndPoint)first.LocalEndpoint).Port;
            try
            {
                using var second = new TcpListener(IPAddress.Loopback, port);
                second.Start();
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
                // Taken on loopback: try another.
            }
        }
    }

    private void UseTransportMiddleware(WebApplication app)
    {
        if (Options.AccessLog is not { } accessLog) return;
        app.Use(async (ctx, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(ctx).ConfigureAwait(false);
            }
            finally
            {
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                accessLog(string.Create(CultureInfo.InvariantCulture,
                    $"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString} {ctx.Response.StatusCode} {ms:0.0}ms"));
            }
        });
    }
}
