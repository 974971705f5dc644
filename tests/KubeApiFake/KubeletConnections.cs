using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// Where the API server reaches the kubelet of a Node (pkg/kubelet/client/kubelet_client.go,
/// <c>NodeConnectionInfoGetter.GetConnectionInfo</c>): the Node's first address of the preferred
/// types and the port it reports in <c>status.daemonEndpoints.kubeletEndpoint.Port</c> (10250 when
/// it reports none). The preference is kubeadm's <c>--kubelet-preferred-address-types</c>
/// (InternalIP, ExternalIP, Hostname). A real API server speaks HTTPS to the kubelet with a client
/// certificate and verifies the kubelet's serving certificate; this one speaks plain HTTP to the
/// node's address, which is enough for a kubelet on the same machine.
/// </summary>
internal sealed class KubeletConnections : IDisposable
{
    private const int DefaultKubeletPort = 10250;
    private static readonly string[] PreferredAddressTypes = ["InternalIP", "ExternalIP", "Hostname"];

    public KubeletConnections()
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        Http = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>The client for requests to kubelets (no overall timeout: logs may follow for hours).</summary>
    public HttpMessageInvoker Http { get; }

    /// <summary>
    /// The kubelet URL of <paramref name="pathAndQuery"/> on <paramref name="nodeName"/>; throws 404
    /// when the Node does not exist, 500 when it has no address of a preferred type (with
    /// <c>nodeutil.NoMatchError</c>'s words).
    /// </summary>
    public static Uri Location(ResourceStore store, string nodeName, string pathAndQuery)
    {
        var nodes = store.Resolve("", "v1", "nodes") ?? throw StatusResponses.ResourceNotFound();
        var node = store.GetForApi(nodes, null, nodeName);
        var addresses = (node["status"]?["addresses"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var host = PreferredAddressTypes
            .SelectMany(type => addresses.Where(a => JsonUtil.Str(a["type"]) == type))
            .Select(a => JsonUtil.Str(a["address"]))
            .FirstOrDefault(a => !string.IsNullOrEmpty(a));
        if (host is null)
        {
            var known = string.Join(" ", addresses.Select(a => $"{{{JsonUtil.Str(a["type"])} {JsonUtil.Str(a["address"])}}}"));
            throw new KubeApiException(500, "", $"no preferred addresses found; known addresses: [{known}]");
        }
        var port = JsonUtil.TryGetLong(node["status"]?["daemonEndpoints"]?["kubeletEndpoint"]?["Port"]) is { } reported && reported > 0 ? reported : DefaultKubeletPort;
        var authority = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{authority}:{port}{pathAndQuery}"));
    }

    /// <summary>
    /// A failed request to a kubelet as kube-apiserver reports it: 500 with the Go error text and no
    /// reason (<c>responsewriters.ErrorToAPIStatus</c> of a plain error), e.g.
    /// <c>Get "http://10.0.0.1:10250/containerLogs/ns/p/c": dial tcp 10.0.0.1:10250: connect: connection refused</c>.
    /// </summary>
    public static KubeApiException Unreachable(string method, Uri location, Exception error)
    {
        var why = DialError(location, error);
        var verb = method.Length == 0 ? "" : char.ToUpperInvariant(method[0]) + method[1..].ToLowerInvariant();
        return new KubeApiException(500, "", $"{verb} \"{location}\": {why}");
    }

    /// <summary>A failed connection as Go's net package words it: <c>dial tcp 10.0.0.1:10250: connect: connection refused</c>.</summary>
    public static string DialError(Uri location, Exception error)
    {
        var socket = error as SocketException ?? error.InnerException as SocketException;
        return socket?.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"dial tcp {location.Authority}: connect: connection refused",
            SocketError.TimedOut => $"dial tcp {location.Authority}: i/o timeout",
            SocketError.HostUnreachable or SocketError.NetworkUnreachable => $"dial tcp {location.Authority}: connect: no route to host",
            _ => error.Message,
        };
    }

    public void Dispose() => Http.Dispose();
}
