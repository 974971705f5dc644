using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using UserApiOperator.Kubernetes.Serialization;

namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// Finds and reads Kubernetes connection settings the way <c>kubectl</c> does, for the subset this
/// operator supports. Search order of <see cref="Load"/>:
/// <list type="number">
/// <item>an explicit kubeconfig path (<c>--kubeconfig</c>);</item>
/// <item>the <c>KUBECONFIG</c> environment variable: a list separated by <see cref="Path.PathSeparator"/>
/// (<c>:</c> on Linux), of which the <b>first existing file</b> is used; files are not merged as kubectl merges them;</item>
/// <item><c>$HOME/.kube/config</c>;</item>
/// <item>the in-cluster service account (<c>KUBERNETES_SERVICE_HOST</c>, <c>KUBERNETES_SERVICE_PORT</c>,
/// <see cref="ServiceAccountDirectory"/><c>/{token,ca.crt,namespace}</c>).</item>
/// </list>
/// Kubeconfig support: <c>current-context</c> or a named context; cluster <c>server</c>,
/// <c>certificate-authority</c> (file; relative paths are resolved against the kubeconfig's directory)
/// or <c>certificate-authority-data</c> (base64 PEM), <c>insecure-skip-tls-verify</c>,
/// <c>tls-server-name</c>, <c>proxy-url</c>; user <c>token</c>, <c>tokenFile</c>,
/// <c>client-certificate</c>/<c>client-key</c> and their <c>-data</c> forms (PEM; RSA and EC keys),
/// <c>username</c>/<c>password</c>; context <c>namespace</c>. Not supported (a
/// <see cref="KubeConfigException"/> naming the user): <c>exec</c> credential plugins,
/// <c>auth-provider</c>s and impersonation (<c>as</c>, <c>as-groups</c>...).
/// </summary>
public sealed class KubeConfigLoader
{
    /// <summary>Where Kubernetes mounts a Pod's service-account token, CA and namespace.</summary>
    public const string DefaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    private static readonly string[] UnsupportedUserFields = ["as", "as-uid", "as-groups", "as-user-extra"];

    /// <summary>Reads an environment variable; replace in tests. Defaults to <see cref="Environment.GetEnvironmentVariable(string)"/>.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Home directory holding <c>.kube/config</c>; null: <c>HOME</c>, else the user profile folder.</summary>
    public string? HomeDirectory { get; init; }

    /// <summary>Directory of the in-cluster <c>token</c>, <c>ca.crt</c> and <c>namespace</c> files; <see cref="DefaultServiceAccountDirectory"/> unless replaced (tests).</summary>
    public string ServiceAccountDirectory { get; init; } = DefaultServiceAccountDirectory;

    /// <summary>
    /// The configuration found by the search order in the class description.
    /// </summary>
    /// <param name="kubeconfigPath">Explicit kubeconfig file (<c>--kubeconfig</c>); when set it must exist.</param>
    /// <param name="context">Context to use instead of <c>current-context</c>; ignored in-cluster.</param>
    /// <exception cref="KubeConfigException">
    /// The file chosen is missing or invalid; <c>KUBECONFIG</c> is set but names no existing file; or
    /// nothing was found (the message lists what was tried).
    /// </exception>
    public KubernetesClientConfiguration Load(string? kubeconfigPath = null, string? context = null)
    {
        if (!string.IsNullOrWhiteSpace(kubeconfigPath))
        {
            return LoadKubeConfig(kubeconfigPath, context);
        }

        var fromEnvironment = GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            var candidates = fromEnvironment.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var existing = candidates.FirstOrDefault(File.Exists);
            return existing is not null
                ? LoadKubeConfig(existing, context)
                : throw new KubeConfigException($"KUBECONFIG is set to \"{fromEnvironment}\" but names no existing file.");
        }

        var home = HomeDirectory ?? DefaultHome();
        var defaultPath = home is null ? null : Path.Combine(home, ".kube", "config");
        if (defaultPath is not null && File.Exists(defaultPath))
        {
            return LoadKubeConfig(defaultPath, context);
        }

        if (IsInCluster())
        {
            return LoadInCluster();
        }

        throw new KubeConfigException(
            "No Kubernetes configuration found: no --kubeconfig given, KUBECONFIG unset, "
            + $"{defaultPath ?? "$HOME/.kube/config"} missing, and not in a cluster "
            + $"(KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset or {Path.Combine(ServiceAccountDirectory, "token")} missing).");
    }

    /// <summary>True inside a Pod: <c>KUBERNETES_SERVICE_HOST</c> and <c>KUBERNETES_SERVICE_PORT</c> are set and the token file exists.</summary>
    public bool IsInCluster() =>
        !string.IsNullOrWhiteSpace(GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"))
        && !string.IsNullOrWhiteSpace(GetEnvironmentVariable("KUBERNETES_SERVICE_PORT"))
        && File.Exists(Path.Combine(ServiceAccountDirectory, "token"));

    /// <summary>
    /// The in-cluster configuration: server <c>https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT</c>
    /// (an IPv6 host is bracketed), the rotating token file, the CA in <c>ca.crt</c> (system trust if
    /// absent, as client-go) and the namespace in <c>namespace</c> (<c>default</c> if absent).
    /// </summary>
    /// <exception cref="KubeConfigException">An environment variable or the token file is missing, the port is not a number, or <c>ca.crt</c> is not PEM.</exception>
    public KubernetesClientConfiguration LoadInCluster()
    {
        var host = GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")?.Trim();
        var port = GetEnvironmentVariable("KUBERNETES_SERVICE_PORT")?.Trim();
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubeConfigException("In-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; at least one is unset (not running in a Pod?).");
        }

        if (!ushort.TryParse(port, out _))
        {
            throw new KubeConfigException($"In-cluster configuration: KUBERNETES_SERVICE_PORT \"{port}\" is not a port number.");
        }

        var tokenFile = Path.Combine(ServiceAccountDirectory, "token");
        var token = ReadText(tokenFile, $"in-cluster service-account token {tokenFile}").Trim();
        if (token.Length == 0)
        {
            throw new KubeConfigException($"In-cluster service-account token {tokenFile} is empty.");
        }

        var caFile = Path.Combine(ServiceAccountDirectory, "ca.crt");
        var authorities = File.Exists(caFile)
            ? ParseCertificates(ReadText(caFile, $"in-cluster CA {caFile}"), $"in-cluster CA {caFile}")
            : null;
        var namespaceFile = Path.Combine(ServiceAccountDirectory, "namespace");
        var ns = File.Exists(namespaceFile) ? ReadText(namespaceFile, $"in-cluster namespace {namespaceFile}").Trim() : "";
        var bracketed = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        return new KubernetesClientConfiguration
        {
            Server = new Uri($"https://{bracketed}:{port}"),
            Namespace = ns.Length > 0 ? ns : KubernetesClientConfiguration.DefaultNamespace,
            CertificateAuthorities = authorities,
            AccessToken = token,
            TokenFile = tokenFile,
            Source = "in-cluster service account",
        };
    }

    /// <summary>The configuration of one context of a kubeconfig file (see the class description for the fields read).</summary>
    /// <param name="path">Kubeconfig file.</param>
    /// <param name="context">Context name, or null for the file's <c>current-context</c>.</param>
    /// <exception cref="KubeConfigException">
    /// The file is missing, unreadable or not YAML; there is no current context; the context, its cluster
    /// or its user is not defined; <c>server</c> is missing or not an http(s) URL; base64 or PEM data is
    /// invalid; a referenced file is missing; or the user needs an unsupported mechanism (exec, auth-provider, impersonation).
    /// </exception>
    public KubernetesClientConfiguration LoadKubeConfig(string path, string? context = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new KubeConfigException($"Kubeconfig {fullPath} does not exist.");
        }

        var directory = Path.GetDirectoryName(fullPath) ?? ".";
        var root = ParseRoot(fullPath);
        var where = $"Kubeconfig {fullPath}";

        var contextName = string.IsNullOrWhiteSpace(context) ? String(root, "current-context") : context;
        if (string.IsNullOrWhiteSpace(contextName))
        {
            throw new KubeConfigException(
                $"{where} has no current-context; set one (kubectl config use-context NAME) or choose a context. Contexts defined: {Names(root, "contexts")}.");
        }

        var contextEntry = Find(root, "contexts", "context", contextName)
            ?? throw new KubeConfigException($"{where}: context \"{contextName}\" is not defined. Contexts defined: {Names(root, "contexts")}.");
        var clusterName = String(contextEntry, "cluster");
        if (string.IsNullOrWhiteSpace(clusterName))
        {
            throw new KubeConfigException($"{where}: context \"{contextName}\" names no cluster.");
        }

        var cluster = Find(root, "clusters", "cluster", clusterName)
            ?? throw new KubeConfigException($"{where}: cluster \"{clusterName}\" (of context \"{contextName}\") is not defined. Clusters defined: {Names(root, "clusters")}.");
        var userName = String(contextEntry, "user");
        JsonObject? user = null;
        if (!string.IsNullOrWhiteSpace(userName))
        {
            user = Find(root, "users", "user", userName)
                ?? throw new KubeConfigException($"{where}: user \"{userName}\" (of context \"{contextName}\") is not defined. Users defined: {Names(root, "users")}.");
        }

        var clusterWhere = $"{where}: cluster \"{clusterName}\"";
        var serverText = String(cluster, "server");
        if (string.IsNullOrWhiteSpace(serverText))
        {
            throw new KubeConfigException($"{clusterWhere} has no server.");
        }

        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || (server.Scheme != Uri.UriSchemeHttps && server.Scheme != Uri.UriSchemeHttp))
        {
            throw new KubeConfigException($"{clusterWhere}: server \"{serverText}\" is not an http:// or https:// URL.");
        }

        var authorities = ReadCertificates(cluster, "certificate-authority", directory, clusterWhere);
        var insecure = Boolean(cluster, "insecure-skip-tls-verify", clusterWhere);
        if (insecure && authorities is not null)
        {
            throw new KubeConfigException($"{clusterWhere} sets both insecure-skip-tls-verify and a certificate authority; choose one (kubectl refuses this too).");
        }

        Uri? proxy = null;
        if (String(cluster, "proxy-url") is { Length: > 0 } proxyText && !Uri.TryCreate(proxyText, UriKind.Absolute, out proxy))
        {
            throw new KubeConfigException($"{clusterWhere}: proxy-url \"{proxyText}\" is not a URL.");
        }

        var credentials = user is null ? new UserCredentials() : ReadUser(user, directory, $"{where}: user \"{userName}\"");
        var ns = String(contextEntry, "namespace");
        return new KubernetesClientConfiguration
        {
            Server = server,
            Namespace = string.IsNullOrWhiteSpace(ns) ? KubernetesClientConfiguration.DefaultNamespace : ns,
            CertificateAuthorities = authorities,
            SkipTlsVerify = insecure,
            TlsServerName = NullIfEmpty(String(cluster, "tls-server-name")),
            ProxyUrl = proxy,
            AccessToken = credentials.Token,
            TokenFile = credentials.TokenFile,
            ClientCertificate = credentials.ClientCertificate,
            Username = credentials.Username,
            Password = credentials.Password,
            ContextName = contextName,
            Source = $"kubeconfig {fullPath}, context {contextName}",
        };
    }

    private static UserCredentials ReadUser(JsonObject user, string directory, string where)
    {
        if (user["exec"] is JsonObject exec)
        {
            var command = String(exec, "command");
            throw new KubeConfigException(
                $"{where} uses an exec credential plugin (command \"{command}\"), which this operator does not support; "
                + "give the user a token, tokenFile or client certificate (for example a service-account token).");
        }

        if (user["auth-provider"] is JsonObject provider)
        {
            throw new KubeConfigException(
                $"{where} uses the auth-provider \"{String(provider, "name")}\", which this operator does not support; "
                + "give the user a token, tokenFile or client certificate.");
        }

        if (UnsupportedUserFields.FirstOrDefault(user.ContainsKey) is { } impersonation)
        {
            throw new KubeConfigException($"{where} sets \"{impersonation}\" (impersonation), which this operator does not support.");
        }

        X509Certificate2? certificate = null;
        var certificatePem = ReadPem(user, "client-certificate", directory, where);
        var keyPem = ReadPem(user, "client-key", directory, where);
        if (certificatePem is not null || keyPem is not null)
        {
            if (certificatePem is null || keyPem is null)
            {
                throw new KubeConfigException($"{where} has a client {(certificatePem is null ? "key" : "certificate")} but no client {(certificatePem is null ? "certificate" : "key")}; both are needed.");
            }

            certificate = LoadClientCertificate(certificatePem, keyPem, where);
        }

        var tokenFile = String(user, "tokenFile");
        if (!string.IsNullOrWhiteSpace(tokenFile))
        {
            tokenFile = Resolve(tokenFile, directory);
            if (!File.Exists(tokenFile))
            {
                throw new KubeConfigException($"{where}: tokenFile {tokenFile} does not exist.");
            }
        }

        return new UserCredentials
        {
            Token = NullIfEmpty(String(user, "token")),
            TokenFile = NullIfEmpty(tokenFile),
            ClientCertificate = certificate,
            Username = NullIfEmpty(String(user, "username")),
            Password = NullIfEmpty(String(user, "password")),
        };
    }

    private static X509Certificate2 LoadClientCertificate(string certificatePem, string keyPem, string where)
    {
        try
        {
            var certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            if (!OperatingSystem.IsWindows())
            {
                return certificate;
            }

            // SChannel cannot use an ephemeral key for client authentication: round-trip through PKCS#12.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
        }
        catch (CryptographicException e)
        {
            throw new KubeConfigException($"{where}: the client certificate and key cannot be used: {e.Message} (expected PEM; RSA or EC key matching the certificate).", e);
        }
    }

    /// <summary>The certificates of <paramref name="field"/> (a file) or <paramref name="field"/><c>-data</c> (base64 PEM); the data form wins, as in kubectl.</summary>
    private static X509Certificate2Collection? ReadCertificates(JsonObject entry, string field, string directory, string where)
    {
        var pem = ReadPem(entry, field, directory, where);
        return pem is null ? null : ParseCertificates(pem, $"{where}: {field}");
    }

    private static X509Certificate2Collection ParseCertificates(string pem, string what)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new KubeConfigException($"{what} is not a valid PEM certificate: {e.Message}", e);
        }

        return certificates.Count > 0 ? certificates : throw new KubeConfigException($"{what} holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
    }

    private static string? ReadPem(JsonObject entry, string field, string directory, string where)
    {
        var data = String(entry, field + "-data");
        if (!string.IsNullOrWhiteSpace(data))
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(data));
            }
            catch (FormatException e)
            {
                throw new KubeConfigException($"{where}: {field}-data is not valid base64.", e);
            }
        }

        var file = String(entry, field);
        if (string.IsNullOrWhiteSpace(file))
        {
            return null;
        }

        var resolved = Resolve(file, directory);
        return File.Exists(resolved)
            ? ReadText(resolved, $"{where}: {field} {resolved}")
            : throw new KubeConfigException($"{where}: {field} file {resolved} does not exist.");
    }

    private static JsonObject ParseRoot(string path)
    {
        var text = ReadText(path, $"Kubeconfig {path}");
        IReadOnlyList<JsonNode?> documents;
        try
        {
            documents = YamlJson.ParseDocuments(text);
        }
        catch (YamlFormatException e)
        {
            throw new KubeConfigException($"Kubeconfig {path} is not valid YAML: {e.Message}", e);
        }

        return documents.Count > 0 && documents[0] is JsonObject root
            ? root
            : throw new KubeConfigException($"Kubeconfig {path} is empty or not a YAML mapping.");
    }

    /// <summary>The inner object (<paramref name="inner"/>) of the entry named <paramref name="name"/> in the list <paramref name="list"/>.</summary>
    private static JsonObject? Find(JsonObject root, string list, string inner, string name) =>
        (root[list] as JsonArray)?
            .OfType<JsonObject>()
            .Where(entry => String(entry, "name") == name)
            .Select(entry => entry[inner] as JsonObject ?? [])
            .FirstOrDefault();

    private static string Names(JsonObject root, string list)
    {
        var names = (root[list] as JsonArray)?.OfType<JsonObject>().Select(e => String(e, "name")).OfType<string>().ToList() ?? [];
        return names.Count == 0 ? "none" : string.Join(", ", names.Select(n => $"\"{n}\""));
    }

    /// <summary>A scalar as text: YAML plain scalars may have been read as numbers or booleans (<c>token: 12345</c>).</summary>
    private static string? String(JsonObject entry, string key) => entry[key] switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value => value.ToJsonString(),
        _ => null,
    };

    private static bool Boolean(JsonObject entry, string key, string where) => entry[key] switch
    {
        null => false,
        JsonValue value when value.GetValueKind() is JsonValueKind.True => true,
        JsonValue value when value.GetValueKind() is JsonValueKind.False => false,
        JsonValue value when value.GetValueKind() is JsonValueKind.String && bool.TryParse(value.GetValue<string>(), out var parsed) => parsed,
        var other => throw new KubeConfigException($"{where}: {key} must be true or false, not {other.ToJsonString()}."),
    };

    private static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException($"Cannot read {what}: {e.Message}", e);
        }
    }

    private static string Resolve(string path, string directory) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));

    private static string? NullIfEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private string? DefaultHome()
    {
        var home = GetEnvironmentVariable("HOME");
        if (!string.IsNullOrWhiteSpace(home))
        {
            return home;
        }

        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(profile) ? null : profile;
    }

    private sealed class UserCredentials
    {
        public string? Token { get; init; }

        public string? TokenFile { get; init; }

        public X509Certificate2? ClientCertificate { get; init; }

        public string? Username { get; init; }

        public string? Password { get; init; }
    }
}
