using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KubeApiFake;

/// <summary>The listener (port, HTTP or HTTPS) and the access log (see <see cref="FakeKubeApiServerOptions.AccessLog"/>).</summary>
public sealed partial class FakeKubeApiServer
{
    private void Listen(KestrelServerOptions kestrel)
    {
        kestrel.Listen(IPAddress.Loopback, Options.Port, listen =>
        {
            if (Certificate is { } certificate) listen.UseHttps(certificate);
        });
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
