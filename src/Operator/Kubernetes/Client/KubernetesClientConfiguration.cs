using System.Reflection;
using System.Security.Cryptography.X509Certificates;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// How to reach and authenticate to one API server: the resolved form of a kubeconfig context or of
/// the in-cluster service account. Build one with <see cref="BuildDefaultConfig"/> (the
/// <c>--kubeconfig</c> / <c>KUBECONFIG</c> / <c>~/.kube/config</c> / in-cluster search of
/// <see cref="KubeConfigLoader"/>) or set the properties directly (tests). Immutable once built;
/// one configuration can serve several <see cref="KubernetesClient"/>s.
/// </summary>
public sealed class KubernetesClientConfiguration
{
    /// <summary>Namespace used when a context names none.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>
    /// API server base URL, <c>http://</c> or <c>https://</c>, for example
    /// <c>https://10.96.0.1:443</c>. A path (as some proxies use, <c>https://rancher/k8s/clusters/c-1</c>)
    /// is kept as a prefix of every request path.
    /// </summary>
    public required Uri Server { get; init; }

    /// <summary>Default namespace of the context (kubeconfig <c>contexts[].context.namespace</c>, or the service account's namespace); <c>default</c> when unset.</summary>
    public string Namespace { get; init; } = DefaultNamespace;

    /// <summary>
    /// Certificate authorities that alone are trusted for the server's certificate (kubeconfig
    /// <c>certificate-authority</c> / <c>-data</c>, in-cluster <c>ca.crt</c>). Null: the system trust store.
    /// </summary>
    public X509Certificate2Collection? CertificateAuthorities { get; init; }

    /// <summary>Accept any server certificate (kubeconfig <c>insecure-skip-tls-verify</c>). For development clusters only.</summary>
    public bool SkipTlsVerify { get; init; }

    /// <summary>
    /// Host name the server certificate must be valid for, instead of the host of <see cref="Server"/>
    /// (kubeconfig <c>tls-server-name</c>). Only the certificate check uses it: the TLS SNI still
    /// carries the URL's host.
    /// </summary>
    public string? TlsServerName { get; init; }

    /// <summary>Client certificate with its private key (kubeconfig <c>client-certificate</c>/<c>client-key</c> or their <c>-data</c> forms).</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Static bearer token (kubeconfig <c>token</c>); sent as <c>Authorization: Bearer</c>.</summary>
    public string? AccessToken { get; init; }

    /// <summary>
    /// File holding a bearer token (kubeconfig <c>tokenFile</c>, in-cluster
    /// <c>/var/run/secrets/kubernetes.io/serviceaccount/token</c>). Re-read at most every
    /// <see cref="TokenRefreshInterval"/> because bound service-account tokens rotate (about hourly).
    /// Takes precedence over <see cref="AccessToken"/>, which is used while the file cannot be read.
    /// </summary>
    public string? TokenFile { get; init; }

    /// <summary>How long a token read from <see cref="TokenFile"/> is used before the file is read again; 1 minute.</summary>
    public TimeSpan TokenRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>User name for HTTP basic authentication (kubeconfig <c>username</c>), with <see cref="Password"/>.</summary>
    public string? Username { get; init; }

    /// <summary>Password for HTTP basic authentication (kubeconfig <c>password</c>).</summary>
    public string? Password { get; init; }

    /// <summary>Proxy for every request (kubeconfig <c>proxy-url</c>: <c>http</c>, <c>https</c> or <c>socks5</c>). Null: the <c>HTTPS_PROXY</c>/<c>NO_PROXY</c> environment, as <c>kubectl</c>.</summary>
    public Uri? ProxyUrl { get; init; }

    /// <summary>
    /// Longest wait for an ordinary request (get, list page, create, apply, patch, delete) and for the
    /// response headers of a watch; expiry raises <see cref="TimeoutException"/>. 60 seconds.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a pooled connection is reused before it is replaced (so DNS and API server load-balancer changes are seen); 5 minutes.</summary>
    public TimeSpan PooledConnectionLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>User-Agent</c> header; the API server also derives the default field manager from the part before <c>/</c>.</summary>
    public string UserAgent { get; init; } = DefaultUserAgent;

    /// <summary>Where the settings came from, for log lines: <c>kubeconfig /home/me/.kube/config, context kind-kind</c> or <c>in-cluster service account</c>.</summary>
    public string Source { get; init; } = "explicit configuration";

    /// <summary>Name of the kubeconfig context used; null for in-cluster and explicit configurations.</summary>
    public string? ContextName { get; init; }

    /// <summary><c>userapi-operator/&lt;version&gt;</c>, the version being the assembly's informational version without build metadata.</summary>
    public static string DefaultUserAgent { get; } = "userapi-operator/" + AssemblyVersion();

    /// <summary>
    /// The configuration found by the standard search (see <see cref="KubeConfigLoader.Load"/>):
    /// <paramref name="kubeconfigPath"/>, else <c>KUBECONFIG</c>, else <c>~/.kube/config</c>, else in-cluster.
    /// </summary>
    /// <param name="kubeconfigPath">Explicit kubeconfig file (<c>--kubeconfig</c>), or null.</param>
    /// <param name="context">Context to use instead of the file's <c>current-context</c>, or null.</param>
    /// <exception cref="KubeConfigException">Nothing usable was found, or the file found is invalid.</exception>
    public static KubernetesClientConfiguration BuildDefaultConfig(string? kubeconfigPath = null, string? context = null) =>
        new KubeConfigLoader().Load(kubeconfigPath, context);

    /// <summary>The configuration of a context of a kubeconfig file.</summary>
    /// <param name="path">Kubeconfig file.</param>
    /// <param name="context">Context name, or null for the file's <c>current-context</c>.</param>
    /// <exception cref="KubeConfigException">The file is missing or invalid, or the context cannot be used.</exception>
    public static KubernetesClientConfiguration BuildConfigFromConfigFile(string path, string? context = null) =>
        new KubeConfigLoader().LoadKubeConfig(path, context);

    /// <summary>The in-cluster configuration of the Pod's service account.</summary>
    /// <exception cref="KubeConfigException">Not running in a Pod (environment variables or token file missing).</exception>
    public static KubernetesClientConfiguration InClusterConfig() => new KubeConfigLoader().LoadInCluster();

    /// <summary>True inside a Pod: <c>KUBERNETES_SERVICE_HOST</c> and <c>_PORT</c> are set and the service-account token exists.</summary>
    public static bool IsInCluster() => new KubeConfigLoader().IsInCluster();

    private static string AssemblyVersion()
    {
        var assembly = typeof(KubernetesClientConfiguration).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
