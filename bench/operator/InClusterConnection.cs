namespace UserApiOperator.Bench;

/// <summary>
/// Starts the operator as a Pod's container finds its API server: no kubeconfig, the service account's
/// files in <c>/var/run/secrets/kubernetes.io/serviceaccount</c> (<c>token</c>, <c>ca.crt</c>,
/// <c>namespace</c>: the volume the ServiceAccount admission plugin adds, <c>DefaultAPITokenMountPath</c>
/// in <c>plugin/pkg/admission/serviceaccount/admission.go</c>) and <c>KUBERNETES_SERVICE_HOST</c> and
/// <c>KUBERNETES_SERVICE_PORT</c> in its environment (the kubelet's service variables,
/// <c>pkg/kubelet/kubelet_pods.go</c>), over HTTPS with a bearer token. KubernetesClient reads exactly
/// these (<c>KubernetesClientConfiguration.InClusterConfig</c>), so the operator runs the code path and
/// loads the libraries (TLS, no YAML) it does in its container.
/// </summary>
/// <remarks>
/// The path is fixed, so the operator runs in a mount namespace of its own (<c>unshare --mount</c>,
/// root only) with a fresh tmpfs on <c>/run</c> (<c>/var/run</c> links there) holding the files; the
/// machine's <c>/run</c> is neither seen nor touched, as a container's is not.
/// </remarks>
internal sealed class InClusterConnection : IDisposable
{
    private readonly string _directory;

    /// <param name="host">The API server's address (<c>127.0.0.1</c>).</param>
    /// <param name="port">Its HTTPS port.</param>
    /// <param name="certificateAuthorityPem">The authority that signed its serving certificate.</param>
    /// <param name="token">The bearer token.</param>
    /// <param name="namespace">The Pod's namespace.</param>
    public InClusterConnection(string host, int port, string certificateAuthorityPem, string token, string @namespace)
    {
        _directory = Directory.CreateTempSubdirectory("operator-bench-serviceaccount-").FullName;
        File.WriteAllText(Path.Combine(_directory, "token"), token);
        File.WriteAllText(Path.Combine(_directory, "ca.crt"), certificateAuthorityPem);
        File.WriteAllText(Path.Combine(_directory, "namespace"), @namespace);
        Environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["KUBERNETES_SERVICE_HOST"] = host,
            ["KUBERNETES_SERVICE_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // No kubeconfig anywhere: HOME without .kube/config (OperatorHost.LoadConfiguration tries it before in-cluster).
            ["HOME"] = _directory,
        };
    }

    /// <summary>Whether this process can set up a mount namespace (root, with <c>unshare</c> on the PATH).</summary>
    public static bool Available => System.Environment.IsPrivilegedProcess && File.Exists("/usr/bin/unshare");

    /// <summary>The operator's environment variables to set (KUBECONFIG is to be removed).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>The command line that runs <paramref name="fileName"/> with <paramref name="arguments"/> with the service account mounted.</summary>
    public (string FileName, IReadOnlyList<string> Arguments) Wrap(string fileName, IEnumerable<string> arguments) =>
        ("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c",
            "mount -t tmpfs -o mode=755,size=1m tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp \"$0\"/token \"$0\"/ca.crt \"$0\"/namespace /run/secrets/kubernetes.io/serviceaccount/ && exec \"$@\"",
            _directory, fileName, .. arguments]);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
