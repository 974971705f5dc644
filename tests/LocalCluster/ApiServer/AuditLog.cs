using System.Text.Json;
using System.Text.Json.Nodes;
using KubeApiFake;

namespace LocalCluster.ApiServer;

/// <summary>
/// <c>local-cluster apiserver --audit-log-path FILE</c>: one JSON line per answered request, in the
/// shape of kube-apiserver's log backend (<c>--audit-log-path</c>, <c>--audit-log-format=json</c>) at
/// level <c>Metadata</c> and stage <c>ResponseComplete</c>: an <c>audit.k8s.io/v1</c> <c>Event</c> with
/// <c>auditID</c>, <c>requestURI</c>, <c>verb</c> (the Kubernetes verb of a resource request, else the
/// lower-cased method), <c>user</c> (<c>username</c>, <c>groups</c>), <c>userAgent</c>,
/// <c>responseStatus.code</c>, <c>requestReceivedTimestamp</c> and <c>stageTimestamp</c>
/// (k8s.io/apiserver/pkg/apis/audit/v1/types.go). Not written: <c>objectRef</c>, <c>sourceIPs</c>,
/// annotations, and request or response bodies. A request refused before authentication has no
/// user. Lines are appended and flushed as they come, so a reader sees every request answered so far.
/// </summary>
internal sealed class AuditLog : IDisposable
{
    private readonly Lock _lock = new();
    private readonly StreamWriter _writer;

    /// <summary>Opens (appends to) <paramref name="path"/>, readable by its owner only.</summary>
    public AuditLog(string path)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        _writer = new StreamWriter(stream) { AutoFlush = true };
    }

    /// <summary>Writes one request's line.</summary>
    public void Write(RecordedRequest request)
    {
        var line = new JsonObject
        {
            ["kind"] = "Event",
            ["apiVersion"] = "audit.k8s.io/v1",
            ["level"] = "Metadata",
            ["auditID"] = Guid.NewGuid().ToString(),
            ["stage"] = "ResponseComplete",
            ["requestURI"] = request.Path + (request.Query.Length > 0 ? "?" + request.Query : ""),
            ["verb"] = request.Verb ?? request.Method.ToLowerInvariant(),
            ["user"] = request.User is { } user
                ? new JsonObject { ["username"] = user.Name, ["groups"] = new JsonArray([.. user.Groups.Select(g => (JsonNode)g)]) }
                : new JsonObject(),
            ["userAgent"] = request.UserAgent,
            ["responseStatus"] = new JsonObject { ["metadata"] = new JsonObject(), ["code"] = request.StatusCode },
            ["requestReceivedTimestamp"] = request.Timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["stageTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture),
        };
        var text = line.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        lock (_lock) _writer.WriteLine(text);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock) _writer.Dispose();
    }
}
