namespace KubeApiFake;

/// <summary>Listener settings: the port and the access log.</summary>
public sealed partial class FakeKubeApiServerOptions
{
    /// <summary>Loopback port to listen on; 0 (default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Called once per answered request with one line (<c>GET /api/v1/pods 200 1.2ms</c>; watches when
    /// they end; refused requests too). Default null: nothing is written.
    /// </summary>
    public Action<string>? AccessLog { get; set; }

    /// <summary>
    /// Called with every answered request as it is recorded (<see cref="FakeKubeApiServer.Requests"/>),
    /// with its user when authentication is on: what kube-apiserver's audit backend receives (the
    /// <c>--audit-log-path</c> of <c>local-cluster apiserver</c>). Called on the request's thread; keep it
    /// quick. Default null.
    /// </summary>
    public Action<RecordedRequest>? RequestObserver { get; set; }
}
