using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Models;
using LocalCluster.Kubelet;

namespace LocalCluster.Ingress;

/// <summary>Where the Ingress controller listens (loopback ports) and keeps its files.</summary>
/// <param name="HttpPort">Port of plain HTTP on 127.0.0.1.</param>
/// <param name="HttpsPort">Port of HTTPS on 127.0.0.1 (certificates from the Ingresses' TLS Secrets).</param>
/// <param name="Directory">nginx's prefix: configuration, certificates, logs, pid file, temporary files.</param>
internal sealed record NginxOptions(int HttpPort, int HttpsPort, string Directory);

/// <summary>
/// The Ingress controller for class <c>nginx</c>: nginx from Debian's packages, run as a child of this
/// process, its configuration generated from the Ingresses (host, path, pathType, TLS from the referenced
/// Secret, defaultBackend) and their Services' ready endpoints, tested (<c>nginx -t</c>) and reloaded
/// (SIGHUP) when it changes. Unmatched requests get nginx's own 404; a backend with no ready endpoint
/// gets 503, as ingress-nginx answers. Each Ingress it serves gets
/// <c>status.loadBalancer.ingress[0].ip = 127.0.0.1</c>.
/// </summary>
internal sealed class NginxController(ControllerManager.IControllerContext context, NginxOptions options)
{
    /// <summary>The class this controller serves (spec.ingressClassName, or the legacy annotation).</summary>
    public const string ClassName = "nginx";

    private readonly Dictionary<string, string> _writtenStatus = [];
    private Process? _nginx;
    private string _config = "";

    private string ConfigPath => Path.Combine(options.Directory, "nginx.conf");

    /// <summary>Writes the first configuration and starts nginx; throws when it does not start.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(options.Directory, "tmp"));
        Directory.CreateDirectory(Path.Combine(options.Directory, "certs"));
        WriteDefaultCertificate();
        _config = Render();
        await File.WriteAllTextAsync(ConfigPath, _config, ct);
        var psi = new ProcessStartInfo("nginx") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in (string[])["-p", options.Directory + "/", "-c", ConfigPath]) psi.ArgumentList.Add(a);
        _nginx = Process.Start(psi) ?? throw new InvalidOperationException("cannot start nginx");
        _nginx.ErrorDataReceived += (_, e) => { if (e.Data is { } l) Log.Write($"nginx: {l}"); };
        _nginx.OutputDataReceived += (_, e) => { if (e.Data is { } l) Log.Write($"nginx: {l}"); };
        _nginx.BeginErrorReadLine();
        _nginx.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            if (_nginx.HasExited) throw new InvalidOperationException($"nginx exited with {_nginx.ExitCode}; see {options.Directory}/error.log");
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync("127.0.0.1", options.HttpPort, ct);
                Log.Write($"ingress: nginx (pid {_nginx.Id}) serves http://127.0.0.1:{options.HttpPort} and https://127.0.0.1:{options.HttpsPort}");
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50, ct);
            }
        }
        throw new InvalidOperationException($"nginx did not listen on 127.0.0.1:{options.HttpPort} within 5 s");
    }

    /// <summary>Regenerates the configuration; reloads nginx when it changed; writes Ingress status.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        var config = Render();
        if (config != _config && _nginx is { HasExited: false })
        {
            var candidate = ConfigPath + ".new";
            await File.WriteAllTextAsync(candidate, config, ct);
            var (code, output) = await Host.RunAsync("nginx", ["-t", "-q", "-p", options.Directory + "/", "-c", candidate], ct);
            if (code != 0)
            {
                Log.Write($"ingress: generated configuration rejected, keeping the previous one: {output.Trim()}");
            }
            else
            {
                File.Move(candidate, ConfigPath, overwrite: true);
                Host.Signal(_nginx.Id, Host.SIGHUP);
                Log.Write("ingress: nginx configuration reloaded");
            }
            _config = config;
        }
        await WriteStatusAsync(ct);
    }

    /// <summary>Stops nginx (SIGQUIT: graceful; SIGKILL after 5 s).</summary>
    public async Task StopAsync()
    {
        if (_nginx is null || _nginx.HasExited) return;
        Host.Signal(_nginx.Id, 3);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _nginx.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _nginx.Kill(entireProcessTree: true);
        }
    }

    private List<V1Ingress> Served() =>
        [.. context.Ingresses.Snapshot()
            .Where(i => i.Metadata.DeletionTimestamp is null
                && (i.Spec.IngressClassName ?? i.Metadata.Annotations.Value("kubernetes.io/ingress.class")) == ClassName)
            .OrderBy(i => i.Metadata.CreationTimestamp).ThenBy(i => i.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(i => i.Metadata.Name, StringComparer.Ordinal)];

    private async Task WriteStatusAsync(CancellationToken ct)
    {
        foreach (var ing in Served())
        {
            var lb = ing.Status?.LoadBalancer?.Ingress;
            if (lb is [{ Ip: "127.0.0.1" }]) continue;
            var key = ing.Metadata.Uid ?? "";
            if (_writtenStatus.ContainsKey(key)) continue;
            var patch = new V1Patch(
                $"{{\"status\":{{\"loadBalancer\":{{\"ingress\":[{{\"ip\":\"127.0.0.1\",\"ports\":[{{\"port\":{options.HttpPort},\"protocol\":\"TCP\"}}]}}]}}}}}}",
                V1Patch.PatchType.MergePatch);
            try
            {
                await context.Client.NetworkingV1.PatchNamespacedIngressStatusAsync(patch, ing.Metadata.Name, ing.Metadata.NamespaceProperty, cancellationToken: ct);
                _writtenStatus[key] = "";
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        }
    }

    /// <summary>The whole nginx.conf for the current Ingresses, Services and Endpoints.</summary>
    private string Render()
    {
        var dir = options.Directory;
        var upstreams = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        // host ("" = any) -> nginx location key -> location body; the oldest Ingress wins a collision.
        var servers = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal) { [""] = new(StringComparer.Ordinal) };
        var certs = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var ing in Served())
        {
            var ns = ing.Metadata.NamespaceProperty ?? "default";
            foreach (var tls in ing.Spec.Tls ?? [])
            {
                var cert = Certificate(ns, tls.SecretName);
                if (cert is null) continue;
                foreach (var h in tls.Hosts ?? []) certs.TryAdd(h, cert);
            }
            var rules = ing.Spec.Rules?.ToList() ?? [];
            if (ing.Spec.DefaultBackend is { Service: { } defaultService })
            {
                rules.Add(new V1IngressRule
                {
                    Http = new V1HTTPIngressRuleValue
                    {
                        Paths = [new V1HTTPIngressPath { Path = "/", PathType = "Prefix", Backend = new V1IngressBackend { Service = defaultService } }],
                    },
                });
            }
            foreach (var rule in rules)
            {
                var host = rule.Host ?? "";
                if (!servers.TryGetValue(host, out var locations)) servers[host] = locations = new(StringComparer.Ordinal);
                foreach (var path in rule.Http?.Paths ?? [])
                {
                    // A backend with no ready endpoint answers 503, as ingress-nginx does.
                    var target = path.Backend.Service is { } s ? Upstream(ns, s, upstreams) : null;
                    var body = target is not null && upstreams[target].Count > 0 ? $"proxy_pass http://{target};" : "return 503;";
                    foreach (var location in Locations(path.Path ?? "/", path.PathType))
                    {
                        locations.TryAdd(location, $"# {ns}/{ing.Metadata.Name}\n            {body}");
                    }
                }
            }
        }

        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $$"""
            # Generated by local-cluster controller-manager (tests/LocalCluster/Ingress) from the Ingresses of class
            # "{{ClassName}}" and the ready endpoints of their Services. Rewritten on every change.
            daemon off;
            master_process on;
            worker_processes 1;
            user root;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log notice;
            events { worker_connections 1024; }
            http {
                access_log {{dir}}/access.log;
                client_body_temp_path {{dir}}/tmp/body;
                proxy_temp_path {{dir}}/tmp/proxy;
                fastcgi_temp_path {{dir}}/tmp/fastcgi;
                uwsgi_temp_path {{dir}}/tmp/uwsgi;
                scgi_temp_path {{dir}}/tmp/scgi;
                default_type application/octet-stream;
                server_names_hash_bucket_size 128;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_set_header Host $host;
                proxy_set_header X-Real-IP $remote_addr;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_connect_timeout 2s;
                # As ingress-nginx: a request that fails on one endpoint is tried on the next.
                proxy_next_upstream error timeout http_502 http_503 http_504;
                proxy_next_upstream_tries 3;

            """);
        foreach (var (name, endpoints) in upstreams)
        {
            if (endpoints.Count == 0) continue;
            b.Append(CultureInfo.InvariantCulture, $"    upstream {name} {{\n");
            foreach (var e in endpoints) b.Append(CultureInfo.InvariantCulture, $"        server {e} max_fails=1 fail_timeout=2s;\n");
            b.Append("        keepalive 16;\n    }\n");
        }
        var defaultCert = Path.Combine(dir, "certs", "default.crt");
        foreach (var (host, locations) in servers)
        {
            var cert = certs.GetValueOrDefault(host) ?? defaultCert;
            var isDefault = host.Length == 0 ? " default_server" : "";
            b.Append(CultureInfo.InvariantCulture, $$"""
                    server {
                        listen 127.0.0.1:{{options.HttpPort}}{{isDefault}};
                        listen 127.0.0.1:{{options.HttpsPort}} ssl{{isDefault}};
                        server_name {{(host.Length == 0 ? "_" : host)}};
                        ssl_certificate {{cert}};
                        ssl_certificate_key {{Path.ChangeExtension(cert, ".key")}};

                """);
            // What no rule matches gets nginx's own 404.
            locations.TryAdd("/", "return 404;");
            foreach (var (location, body) in locations)
            {
                b.Append(CultureInfo.InvariantCulture, $"        location {location} {{\n            {body}\n        }}\n");
            }
            b.Append("    }\n");
        }
        b.Append("}\n");
        return b.ToString();
    }

    /// <summary>nginx locations for an Ingress path: Exact is <c>= p</c>; Prefix matches whole path elements (<c>= p</c> and <c>p/</c>).</summary>
    private static IEnumerable<string> Locations(string path, string? pathType)
    {
        if (pathType == "Exact") return [$"= {path}"];
        if (pathType == "ImplementationSpecific") return [path];
        var trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? ["/"] : [$"= {trimmed}", $"{trimmed}/"];
    }

    /// <summary>The upstream name of a Service port, registering its ready endpoints.</summary>
    private string? Upstream(string ns, V1IngressServiceBackend backend, SortedDictionary<string, List<string>> upstreams)
    {
        var svc = context.Services.Get(ns, backend.Name);
        var port = svc?.Spec.Ports?.FirstOrDefault(p => backend.Port?.Number is { } n ? p.Port == n : p.Name == backend.Port?.Name);
        if (svc is null || port is null) return null;
        var name = $"{ns}-{backend.Name}-{port.Port}";
        if (upstreams.ContainsKey(name)) return name;
        var endpoints = new List<string>();
        foreach (var subset in context.EndpointsCache.Get(ns, backend.Name)?.Subsets ?? [])
        {
            var target = subset.Ports?.FirstOrDefault(p => p.Name == port.Name) ?? (subset.Ports?.Count == 1 ? subset.Ports[0] : null);
            if (target is null) continue;
            endpoints.AddRange((subset.Addresses ?? []).Select(a => $"{a.Ip}:{target.Port}"));
        }
        endpoints.Sort(StringComparer.Ordinal);
        upstreams[name] = endpoints;
        return name;
    }

    /// <summary>Writes a kubernetes.io/tls Secret's pair for nginx; null when the Secret is missing or incomplete.</summary>
    private string? Certificate(string ns, string? secretName)
    {
        if (secretName is null) return null;
        var secret = context.Secrets.Get(ns, secretName);
        if (secret?.Data is not { } data || !data.TryGetValue("tls.crt", out var crt) || !data.TryGetValue("tls.key", out var key)) return null;
        var path = Path.Combine(options.Directory, "certs", $"{ns}_{secretName}.crt");
        WriteIfChanged(path, crt);
        WriteIfChanged(Path.ChangeExtension(path, ".key"), key);
        return path;
    }

    private static void WriteIfChanged(string path, byte[] content)
    {
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content)) return;
        File.WriteAllBytes(path, content);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>The certificate for hosts without a TLS Secret, self-signed as ingress-nginx's fake one.</summary>
    private void WriteDefaultCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Kubernetes Ingress Controller Fake Certificate, O=Acme Co", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        WriteIfChanged(Path.Combine(options.Directory, "certs", "default.crt"), Encoding.ASCII.GetBytes(cert.ExportCertificatePem()));
        WriteIfChanged(Path.Combine(options.Directory, "certs", "default.key"), Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
    }
}
