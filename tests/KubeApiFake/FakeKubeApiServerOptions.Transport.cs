namespace KubeApiFake;

/// <summary>Transport settings: TLS, the bearer token, the port and the access log.</summary>
public sealed partial class FakeKubeApiServerOptions
{
    /// <summary>
    /// Serve HTTPS with a certificate authority and a serving certificate (for 127.0.0.1, ::1 and
    /// localhost) generated at start; <see cref="FakeKubeApiServer.KubeconfigYaml"/> then carries
    /// the authority as <c>certificate-authority-data</c>. Default false: plain HTTP.
    /// </summary>
    public bool UseHttps { get; set; }

    /// <summary>
    /// When set, every request must carry <c>Authorization: Bearer &lt;token&gt;</c> with this token;
    /// others are answered 401 with an <c>Unauthorized</c> Status, as a real server answers a request
    /// no authenticator accepts. Default null: no authentication, any token works.
    /// </summary>
    public string? BearerToken { get; set; }

    /// <summary>Loopback port to listen on; 0 (default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Called once per answered request with one line (<c>GET /api/v1/pods 200 1.2ms</c>; watches when
    /// they end). Default null: nothing is written.
    /// </summary>
    public Action<string>? AccessLog { get; set; }
}
