using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The TokenRequest API: <c>POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token</c> with an
/// authentication.k8s.io/v1 <c>TokenRequest</c>, answered 201 with <c>status.token</c> and
/// <c>status.expirationTimestamp</c>, as pkg/registry/core/serviceaccount/storage/token.go
/// (<c>TokenREST.Create</c>) does it: the ServiceAccount must exist; audiences default to the
/// server's (its issuer); <c>expirationSeconds</c> defaults to 3600 and must lie between 10 minutes and
/// 2^32 seconds (pkg/apis/authentication/validation, <c>ValidateTokenRequest</c>); a
/// <c>boundObjectRef</c> to a Pod (of this ServiceAccount), a Secret or a Node must name an existing
/// object (with its UID when one is given); a Pod-bound token of exactly 3607 seconds for the
/// server's audience is extended to a year and marked with <c>warnafter</c>
/// (<c>--service-account-extend-token-expiration</c>, on by default), while the status still reports
/// the requested expiry. Authorised as <c>create</c> on <c>serviceaccounts/token</c>.
/// </summary>
internal sealed partial class ApiRequestHandler
{
    private const long MinTokenSeconds = 10 * 60;

    // pkg/serviceaccount/claims.go: ExpirationExtensionSeconds.
    private const long ExtendedTokenSeconds = 24 * 365 * 60 * 60;

    private (int Code, JsonNode Body, IReadOnlyList<string>? Warnings) CreateToken(string ns, string serviceAccountName, string? body)
    {
        JsonObject request;
        try
        {
            request = JsonNode.Parse(string.IsNullOrWhiteSpace(body) ? "{}" : body) as JsonObject
                ?? throw StatusResponses.BadRequest("the body of the request must be a TokenRequest object");
        }
        catch (JsonException e)
        {
            throw StatusResponses.BadRequest($"couldn't get version/kind; json parse error: {e.Message}");
        }
        if (JsonUtil.Str(request["kind"]) is { Length: > 0 } kind && kind != "TokenRequest")
        {
            throw StatusResponses.BadRequest($"the kind in the data ({kind}) does not match the expected kind (TokenRequest)");
        }

        var metadata = request["metadata"] as JsonObject ?? [];
        if (JsonUtil.Str(metadata["name"]) is { Length: > 0 } bodyName && bodyName != serviceAccountName)
        {
            throw TokenRequestInvalid(serviceAccountName, "metadata.name", $"Invalid value: \"{bodyName}\": must match the service account name if specified");
        }
        if (JsonUtil.Str(metadata["namespace"]) is { Length: > 0 } bodyNs && bodyNs != ns)
        {
            throw TokenRequestInvalid(serviceAccountName, "metadata.namespace", $"Invalid value: \"{bodyNs}\": must match the service account namespace if specified");
        }

        var serviceAccounts = store.Resolve("", "v1", "serviceaccounts")!;
        var serviceAccount = store.GetForApi(serviceAccounts, ns, serviceAccountName);
        var spec = request["spec"] as JsonObject ?? [];
        var audiences = (spec["audiences"] as JsonArray)?.Select(JsonUtil.Str).OfType<string>().ToList() ?? [];
        if (audiences.Count == 0) audiences = [server.ServiceAccountTokens.Issuer];
        var expirationSeconds = JsonUtil.TryGetLong(spec["expirationSeconds"]) ?? 3600;
        if (expirationSeconds < MinTokenSeconds)
        {
            throw TokenRequestInvalid("", "spec.expirationSeconds", $"Invalid value: {expirationSeconds}: may not specify a duration less than 10 minutes");
        }
        if (expirationSeconds > 1L << 32)
        {
            throw TokenRequestInvalid("", "spec.expirationSeconds", $"Invalid value: {expirationSeconds}: may not specify a duration larger than 2^32 seconds");
        }

        JsonObject? pod = null, node = null, secret = null;
        var boundRef = spec["boundObjectRef"] as JsonObject;
        if (boundRef is not null)
        {
            var apiVersion = JsonUtil.Str(boundRef["apiVersion"]) ?? "";
            var refKind = JsonUtil.Str(boundRef["kind"]) ?? "";
            var refName = JsonUtil.Str(boundRef["name"]) ?? "";
            var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "";
            string uid;
            switch (group, refKind)
            {
                case ("", "Pod"):
                    pod = store.GetForApi(store.Resolve("", "v1", "pods") ?? throw StatusResponses.BadRequest("spec.BoundObjectRef.Kind equal to Pod is invalid"), ns, refName);
                    if (JsonUtil.Str(pod["spec"]?["serviceAccountName"]) != serviceAccountName)
                    {
                        throw StatusResponses.BadRequest($"cannot bind token for serviceaccount \"{serviceAccountName}\" to pod running with different serviceaccount name.");
                    }
                    uid = JsonUtil.MetaString(pod, "uid") ?? "";
                    if (JsonUtil.Str(pod["spec"]?["nodeName"]) is { Length: > 0 } nodeName)
                    {
                        // ServiceAccountTokenPodNodeInfo: the Pod's Node goes into the claims, by name alone when it is not found.
                        node = (store.Resolve("", "v1", "nodes") is { } nodes ? store.Get(nodes.Gvr, null, nodeName) : null)
                            ?? new JsonObject { ["metadata"] = new JsonObject { ["name"] = nodeName } };
                    }
                    break;
                case ("", "Node"):
                    node = store.GetForApi(store.Resolve("", "v1", "nodes") ?? throw StatusResponses.BadRequest("cannot bind token to a Node object"), null, refName);
                    uid = JsonUtil.MetaString(node, "uid") ?? "";
                    break;
                case ("", "Secret"):
                    secret = store.GetForApi(store.Resolve("", "v1", "secrets")!, ns, refName);
                    uid = JsonUtil.MetaString(secret, "uid") ?? "";
                    break;
                default:
                    throw StatusResponses.BadRequest($"cannot bind token to object of type {group}/{(group.Length == 0 ? apiVersion : apiVersion[(group.Length + 1)..])}, Kind={refKind}");
            }
            if (JsonUtil.Str(boundRef["uid"]) is { Length: > 0 } refUid && refUid != uid)
            {
                throw new KubeApiException(409, "Conflict",
                    $"Operation cannot be fulfilled on {refKind} \"{refName}\": the UID in the bound object reference ({refUid}) does not match the UID in record. The object might have been deleted and then recreated",
                    new JsonObject { ["name"] = refName, ["kind"] = refKind });
            }
        }

        var now = server.Options.TimeProvider.GetUtcNow();
        long warnAfter = 0;
        var tokenSeconds = expirationSeconds;
        if (pod is not null && expirationSeconds == ResourceStore.WarnOnlyBoundTokenExpirationSeconds
            && audiences.All(a => a == server.ServiceAccountTokens.Issuer))
        {
            warnAfter = expirationSeconds;
            tokenSeconds = ExtendedTokenSeconds;
        }
        var token = server.ServiceAccountTokens.Issue(serviceAccount, pod, node, secret, tokenSeconds, warnAfter, audiences, now);

        var outSpec = new JsonObject
        {
            ["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode)a)]),
            ["expirationSeconds"] = expirationSeconds,
        };
        if (boundRef is not null) outSpec["boundObjectRef"] = boundRef.DeepClone();
        var response = new JsonObject
        {
            ["kind"] = "TokenRequest",
            ["apiVersion"] = "authentication.k8s.io/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = serviceAccountName,
                ["namespace"] = ns,
                ["uid"] = JsonUtil.MetaString(serviceAccount, "uid"),
                ["creationTimestamp"] = JsonUtil.FormatTime(now),
            },
            ["spec"] = outSpec,
            ["status"] = new JsonObject
            {
                ["token"] = token,
                ["expirationTimestamp"] = JsonUtil.FormatTime(now.AddSeconds(expirationSeconds)),
            },
        };
        return (201, response, null);
    }

    /// <summary>422 for a TokenRequest, as <c>errors.NewInvalid(TokenRequest.authentication.k8s.io, name, errs)</c> words it.</summary>
    private static KubeApiException TokenRequestInvalid(string name, string field, string message) =>
        new(422, "Invalid", $"TokenRequest.authentication.k8s.io \"{name}\" is invalid: {field}: {message}", new JsonObject
        {
            ["name"] = name,
            ["group"] = "authentication.k8s.io",
            ["kind"] = "TokenRequest",
            ["causes"] = new JsonArray(new JsonObject
            {
                ["reason"] = "FieldValueInvalid",
                ["message"] = message,
                ["field"] = field,
            }),
        });
}
