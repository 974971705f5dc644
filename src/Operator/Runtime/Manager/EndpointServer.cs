using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace UserApiOperator.Runtime.Manager;

/// <summary>A small Kestrel server for operational endpoints (probes, metrics) on its own address.</summary>
public sealed class EndpointServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EndpointServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port actually bound (useful when asked for port 0).</summary>
    public int Port { get; }

    /// <summary>Starts a server on <paramref name="endpoint"/> serving the routes <paramref name="map"/> declares.</summary>
    /// <exception cref="IOException">The address is in use.</exception>
    public static async Task<EndpointServer> StartAsync(IPEndPoint endpoint, Action<IEndpointRouteBuilder> map, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(map);
        // The empty builder: Kestrel and routing only. No configuration files (so no FileSystemWatcher
        // over the working directory, which CreateSlimBuilder would start), no logging providers.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(endpoint));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        map(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EndpointServer(app, new Uri(address.Replace("*", "localhost", StringComparison.Ordinal)).Port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
