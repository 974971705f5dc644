using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// ServiceAccount tokens as kube-apiserver signs and authenticates them: JWTs signed with ES256 by a
/// P-256 key of this server (made on first use), the key id being the base64url SHA-256 of the
/// public key's DER form (pkg/serviceaccount/jwt.go, <c>keyIDFromPublicKey</c>), with the claims of
/// pkg/serviceaccount/claims.go <c>Claims</c>: <c>iss</c>, <c>sub</c>
/// (<c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c>), <c>aud</c>, <c>exp</c>, <c>iat</c>,
/// <c>nbf</c>, <c>jti</c>, and <c>kubernetes.io</c> with the namespace, the ServiceAccount, the bound
/// Pod (and its Node) or Secret, and <c>warnafter</c> for an extended token. Authentication follows
/// jwt.go (<c>AuthenticateToken</c>: issuer, signature, audiences) and claims.go (<c>Validate</c>:
/// time with one minute of leeway, then the ServiceAccount and the bound objects must still exist
/// with the same UIDs and not be deleted for longer than the leeway).
/// </summary>
internal sealed class ServiceAccountTokens(ResourceStore store, string issuer, TimeProvider clock)
{
    /// <summary>go-jose's <c>jwt.DefaultLeeway</c>, used by claims.go.</summary>
    private static readonly TimeSpan Leeway = TimeSpan.FromMinutes(1);

    private readonly Lazy<(ECDsa Key, string KeyId)> _signing = new(() =>
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyId = Base64Url.EncodeToString(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
        return (key, keyId);
    });

    /// <summary>The issuer (<c>iss</c>) and the audience the server accepts.</summary>
    public string Issuer { get; } = issuer;

    /// <summary>The key id of the signing key (the <c>kid</c> header of every token).</summary>
    public string KeyId => _signing.Value.KeyId;

    /// <summary>The signing key's public part (SubjectPublicKeyInfo, PEM), e.g. for a verifier outside the server.</summary>
    public string PublicKeyPem => _signing.Value.Key.ExportSubjectPublicKeyInfoPem();

    /// <summary>
    /// Signs a token for <paramref name="serviceAccount"/> valid <paramref name="expirationSeconds"/>
    /// from now, optionally bound to one object (<paramref name="pod"/> with its <paramref name="node"/>,
    /// or <paramref name="secret"/>), with <c>warnafter</c> when <paramref name="warnAfterSeconds"/> is not 0.
    /// </summary>
    public string Issue(JsonObject serviceAccount, JsonObject? pod, JsonObject? node, JsonObject? secret,
        long expirationSeconds, long warnAfterSeconds, IReadOnlyList<string> audiences, DateTimeOffset now)
    {
        var ns = JsonUtil.MetaString(serviceAccount, "namespace") ?? "";
        var name = JsonUtil.MetaString(serviceAccount, "name") ?? "";
        var kubernetes = new JsonObject
        {
            ["namespace"] = ns,
            ["serviceaccount"] = Ref(serviceAccount),
        };
        if (pod is not null)
        {
            kubernetes["pod"] = Ref(pod);
            if (node is not null) kubernetes["node"] = Ref(node);
        }
        else if (secret is not null)
        {
            kubernetes["secret"] = Ref(secret);
        }
        else if (node is not null)
        {
            kubernetes["node"] = Ref(node);
        }

        var issuedAt = now.ToUnixTimeSeconds();
        if (warnAfterSeconds != 0) kubernetes["warnafter"] = issuedAt + warnAfterSeconds;
        var claims = new JsonObject
        {
            ["aud"] = new JsonArray([.. audiences.Select(a => (JsonNode)a)]),
            ["exp"] = issuedAt + expirationSeconds,
            ["iat"] = issuedAt,
            ["iss"] = Issuer,
            ["jti"] = Guid.NewGuid().ToString(),
            ["kubernetes.io"] = kubernetes,
            ["nbf"] = issuedAt,
            ["sub"] = KubeUser.ServiceAccountUserName(ns, name),
        };
        var (key, keyId) = _signing.Value;
        var header = Base64Url.EncodeToString(JsonUtil.ToUtf8(new JsonObject { ["alg"] = "ES256", ["kid"] = keyId }));
        var payload = Base64Url.EncodeToString(JsonUtil.ToUtf8(claims));
        var signingInput = $"{header}.{payload}";
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    /// <summary>
    /// The ServiceAccount user a token authenticates, or null: not a JWT of this issuer, a bad
    /// signature, expired, not yet valid, for another audience, or naming a ServiceAccount, Pod or
    /// Secret that no longer exists (or exists with another UID). <paramref name="why"/> says which,
    /// in claims.go's words, for logs and tests (the client only ever sees 401 Unauthorized).
    /// </summary>
    public KubeUser? Authenticate(string token, out string why)
    {
        why = "";
        var parts = token.Split('.');
        if (parts.Length != 3) return Fail("not a JWT", out why);
        JsonObject? header;
        JsonObject? claims;
        byte[] signature;
        try
        {
            header = JsonNode.Parse(Base64Url.DecodeFromChars(parts[0])) as JsonObject;
            claims = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1])) as JsonObject;
            signature = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return Fail("malformed JWT", out why);
        }

        // jwt.go: a token of another issuer is not this authenticator's to judge.
        if (header is null || claims is null || JsonUtil.Str(claims["iss"]) != Issuer) return Fail("not issued by this server", out why);
        var (key, keyId) = _signing.Value;
        if (JsonUtil.Str(header["alg"]) != "ES256" || (JsonUtil.Str(header["kid"]) is { Length: > 0 } kid && kid != keyId)
            || !key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return Fail("invalid signature", out why);
        }

        // go-jose Claims.ValidateWithLeeway as claims.go calls it.
        var now = clock.GetUtcNow();
        if (Time(claims["exp"]) is { } exp && now - Leeway > exp) return Fail("service account token has expired", out why);
        if (Time(claims["nbf"]) is { } nbf && now + Leeway < nbf) return Fail("service account token is not valid yet", out why);
        if (Time(claims["iat"]) is { } iat && now + Leeway < iat) return Fail("service account token is issued in the future", out why);

        // jwt.go: the token's audiences must include one the API server accepts (its implicit audiences).
        var audiences = claims["aud"] switch
        {
            JsonArray array => array.Select(JsonUtil.Str).OfType<string>().ToList(),
            JsonValue single when JsonUtil.Str(single) is { } one => [one],
            _ => [],
        };
        if (!audiences.Contains(Issuer, StringComparer.Ordinal))
        {
            return Fail($"token audiences [{string.Join(" ", audiences)}] is invalid for the target audiences [{Issuer}]", out why);
        }

        if (claims["kubernetes.io"] is not JsonObject kubernetes) return Fail("no kubernetes.io claims", out why);
        var ns = JsonUtil.Str(kubernetes["namespace"]) ?? "";
        var saName = JsonUtil.Str(kubernetes["serviceaccount"]?["name"]) ?? "";
        var saUid = JsonUtil.Str(kubernetes["serviceaccount"]?["uid"]) ?? "";
        var invalidIfDeletedBefore = now - Leeway;
        var serviceAccount = store.Get(KnownResources.ServiceAccounts, ns, saName);
        if (serviceAccount is null) return Fail($"serviceaccounts \"{saName}\" not found", out why);
        if (JsonUtil.MetaString(serviceAccount, "uid") != saUid)
        {
            return Fail($"service account UID ({JsonUtil.MetaString(serviceAccount, "uid")}) does not match claim ({saUid})", out why);
        }
        if (DeletedBefore(serviceAccount, invalidIfDeletedBefore)) return Fail($"service account {ns}/{saName} has been deleted", out why);

        var extra = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (kubernetes["secret"] is JsonObject secretRef && !BoundObjectValid(KnownResources.Secrets, ns, secretRef, invalidIfDeletedBefore, "secret", out why)) return null;
        if (kubernetes["pod"] is JsonObject podRef)
        {
            if (!BoundObjectValid(KnownResources.Pods, ns, podRef, invalidIfDeletedBefore, "pod", out why)) return null;
            extra["authentication.kubernetes.io/pod-name"] = [JsonUtil.Str(podRef["name"]) ?? ""];
            extra["authentication.kubernetes.io/pod-uid"] = [JsonUtil.Str(podRef["uid"]) ?? ""];
            if (kubernetes["node"] is JsonObject nodeRef)
            {
                extra["authentication.kubernetes.io/node-name"] = [JsonUtil.Str(nodeRef["name"]) ?? ""];
                if (JsonUtil.Str(nodeRef["uid"]) is { Length: > 0 } nodeUid) extra["authentication.kubernetes.io/node-uid"] = [nodeUid];
            }
        }
        if (JsonUtil.Str(claims["jti"]) is { Length: > 0 } jti) extra["authentication.kubernetes.io/credential-id"] = [$"JTI={jti}"];

        return KubeUser.ServiceAccount(ns, saName) with { Extra = extra };
    }

    private bool BoundObjectValid(GroupVersionResource gvr, string ns, JsonObject reference, DateTimeOffset invalidIfDeletedBefore, string what, out string why)
    {
        why = "";
        var name = JsonUtil.Str(reference["name"]) ?? "";
        var uid = JsonUtil.Str(reference["uid"]) ?? "";
        var obj = store.FindResource(gvr.Group, gvr.Version, gvr.Resource) is null ? null : store.Get(gvr, ns, name);
        if (obj is null)
        {
            why = "service account token has been invalidated";
            return false;
        }
        if (JsonUtil.MetaString(obj, "uid") != uid)
        {
            why = $"{what} UID ({JsonUtil.MetaString(obj, "uid")}) does not match service account {what} ref claim ({uid})";
            return false;
        }
        if (DeletedBefore(obj, invalidIfDeletedBefore))
        {
            why = "service account token has been invalidated";
            return false;
        }
        return true;
    }

    private static bool DeletedBefore(JsonObject obj, DateTimeOffset moment) =>
        JsonUtil.MetaString(obj, "deletionTimestamp") is { } deleted
        && DateTimeOffset.TryParse(deleted, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at < moment;

    private static DateTimeOffset? Time(JsonNode? seconds) =>
        JsonUtil.TryGetLong(seconds) is { } s ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    private static JsonObject Ref(JsonObject obj) => new()
    {
        ["name"] = JsonUtil.MetaString(obj, "name"),
        ["uid"] = JsonUtil.MetaString(obj, "uid"),
    };

    private static KubeUser? Fail(string reason, out string why)
    {
        why = reason;
        return null;
    }
}
