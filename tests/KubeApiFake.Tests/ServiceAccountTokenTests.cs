using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake.Tests;

/// <summary>
/// The TokenRequest API and the authentication of the tokens it issues, against what kube-apiserver
/// does: the JWT's header and claims, the extension of a Pod-bound 3607 s token, validation and
/// binding errors, and a token refused once its Pod or ServiceAccount is gone, replaced, or its time
/// or audience is wrong.
/// </summary>
public sealed class ServiceAccountTokenTests : FakeServerTest
{
    private const string Issuer = "https://kubernetes.default.svc.cluster.local";
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);

    protected override FakeKubeApiServerOptions CreateOptions() =>
        new() { UseTls = true, EnableAuthorization = true, EmulateCluster = true, TimeProvider = _clock };

    [Fact]
    public async Task A_pod_bound_token_carries_the_claims_kube_apiserver_puts_in()
    {
        await CreateNodeAsync("n1");
        var (_, pod) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("web", ["c"], nodeName: "n1"));
        var (code, answer) = await RequestTokenAsync("default", BoundTo(pod), expirationSeconds: 3607);
        Assert.Equal(HttpStatusCode.Created, code);
        Assert.Equal("TokenRequest", answer["kind"].Str());
        Assert.Equal("authentication.k8s.io/v1", answer["apiVersion"].Str());
        Assert.Equal(Issuer, answer["spec"]!["audiences"]![0].Str());
        Assert.Equal(3607, answer["spec"]!["expirationSeconds"]!.GetValue<long>());

        var token = answer["status"]!["token"].Str()!;
        var (header, claims) = Decode(token);
        Assert.Equal("ES256", header["alg"].Str());
        Assert.Equal(Base64Url.EncodeToString(SHA256.HashData(Convert.FromBase64String(PemBody(Api.ServiceAccountTokens.PublicKeyPem)))), header["kid"].Str());
        Assert.True(VerifySignature(token));

        Assert.Equal(Issuer, claims["iss"].Str());
        Assert.Equal("system:serviceaccount:default:default", claims["sub"].Str());
        Assert.Equal(Issuer, claims["aud"]![0].Str());
        var iat = claims["iat"]!.GetValue<long>();
        Assert.Equal(iat, claims["nbf"]!.GetValue<long>());
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeSeconds(), iat);
        // --service-account-extend-token-expiration: a year, with the warning after the 3607 s asked for.
        Assert.Equal(iat + (365 * 24 * 3600), claims["exp"]!.GetValue<long>());
        var k8s = claims["kubernetes.io"]!;
        Assert.Equal(iat + 3607, k8s["warnafter"]!.GetValue<long>());
        Assert.Equal("default", k8s["namespace"].Str());
        var (_, account) = await Http.GetJsonAsync("/api/v1/namespaces/default/serviceaccounts/default");
        Assert.Equal("default", k8s["serviceaccount"]!["name"].Str());
        Assert.Equal(account["metadata"]!["uid"].Str(), k8s["serviceaccount"]!["uid"].Str());
        Assert.Equal("web", k8s["pod"]!["name"].Str());
        Assert.Equal(pod["metadata"]!["uid"].Str(), k8s["pod"]!["uid"].Str());
        Assert.Equal("n1", k8s["node"]!["name"].Str());
        Assert.Matches("^[0-9a-f-]{36}$", claims["jti"].Str());
        Assert.Equal(_clock.GetUtcNow().AddSeconds(3607).ToUnixTimeSeconds(),
            DateTimeOffset.Parse(answer["status"]!["expirationTimestamp"].Str()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds());

        // Another lifetime is not extended.
        var (_, plain) = await RequestTokenAsync("default", BoundTo(pod), expirationSeconds: 7200);
        var (_, plainClaims) = Decode(plain["status"]!["token"].Str()!);
        Assert.Equal(plainClaims["iat"]!.GetValue<long>() + 7200, plainClaims["exp"]!.GetValue<long>());
        Assert.Null(plainClaims["kubernetes.io"]!["warnafter"]);
    }

    [Fact]
    public async Task The_token_authenticates_as_the_service_account_until_its_pod_is_deleted()
    {
        var (_, pod) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("web", ["c"]));
        var (_, answer) = await RequestTokenAsync("default", BoundTo(pod));
        using var asPod = Client(answer["status"]!["token"].Str()!);

        // Authenticated, and authorised by RBAC as the ServiceAccount.
        var (code, status) = await asPod.GetJsonAsync("/api/v1/namespaces/default/configmaps");
        Assert.Equal(HttpStatusCode.Forbidden, code);
        Assert.StartsWith("configmaps is forbidden: User \"system:serviceaccount:default:default\" cannot list resource", status["message"].Str(), StringComparison.Ordinal);
        var user = Api.Requests[^1].User!;
        Assert.Equal(["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"], user.Groups);
        Assert.Equal("web", user.Extra!["authentication.kubernetes.io/pod-name"].Single());
        Assert.Equal(HttpStatusCode.OK, (await asPod.GetJsonAsync("/version")).Code);

        // A Pod of the same name made again is another Pod.
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteJsonAsync("/api/v1/namespaces/default/pods/web")).Code);
        var (gone, goneBody) = await asPod.GetJsonAsync("/version");
        Assert.Equal(HttpStatusCode.Unauthorized, gone);
        KubeHttp.AssertStatus(goneBody, 401, "Unauthorized");
        await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("web", ["c"]));
        Assert.Equal(HttpStatusCode.Unauthorized, (await asPod.GetJsonAsync("/version")).Code);
    }

    [Fact]
    public async Task A_token_is_refused_once_its_service_account_is_replaced_or_its_time_is_up()
    {
        var (_, answer) = await RequestTokenAsync("default", null, expirationSeconds: 600);
        using var client = Client(answer["status"]!["token"].Str()!);
        Assert.Equal(HttpStatusCode.OK, (await client.GetJsonAsync("/version")).Code);

        // jwt.DefaultLeeway: a minute past exp still passes, two do not.
        _clock.Advance(TimeSpan.FromSeconds(600 + 30));
        Assert.Equal(HttpStatusCode.OK, (await client.GetJsonAsync("/version")).Code);
        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetJsonAsync("/version")).Code);

        var (_, fresh) = await RequestTokenAsync("default", null);
        using var second = Client(fresh["status"]!["token"].Str()!);
        Assert.Equal(HttpStatusCode.OK, (await second.GetJsonAsync("/version")).Code);
        await Http.DeleteJsonAsync("/api/v1/namespaces/default/serviceaccounts/default");
        Assert.Equal(HttpStatusCode.OK, (await Http.GetJsonAsync("/api/v1/namespaces/default/serviceaccounts/default")).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetJsonAsync("/version")).Code);
    }

    [Fact]
    public async Task A_token_for_another_audience_or_with_a_forged_signature_is_refused()
    {
        var (code, answer) = await RequestTokenAsync("default", null, audiences: ["vault"]);
        Assert.Equal(HttpStatusCode.Created, code);
        var token = answer["status"]!["token"].Str()!;
        Assert.Equal("vault", Decode(token).Claims["aud"]![0].Str());
        using (var other = Client(token)) Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetJsonAsync("/version")).Code);

        var (_, good) = await RequestTokenAsync("default", null);
        var parts = good["status"]!["token"].Str()!.Split('.');
        var claims = Decode(good["status"]!["token"].Str()!).Claims;
        claims["sub"] = "system:serviceaccount:kube-system:default";
        var forged = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{parts[2]}";
        using var forger = Client(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, (await forger.GetJsonAsync("/version")).Code);
    }

    [Fact]
    public async Task Requests_the_server_refuses_are_answered_as_kube_apiserver_answers_them()
    {
        var (tooShort, shortBody) = await RequestTokenAsync("default", null, expirationSeconds: 10);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooShort);
        Assert.Equal("TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes", shortBody["message"].Str());

        var (missing, missingBody) = await RequestTokenAsync("ghost", null);
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("serviceaccounts \"ghost\" not found", missingBody["message"].Str());

        await Http.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "other" } });
        var (_, pod) = await Http.PostJsonAsync("/api/v1/namespaces/default/pods", ServiceAccountAdmissionTests.Pod("web", ["c"]));
        var (wrongAccount, wrongBody) = await RequestTokenAsync("other", BoundTo(pod));
        Assert.Equal(HttpStatusCode.BadRequest, wrongAccount);
        Assert.Equal("cannot bind token for serviceaccount \"other\" to pod running with different serviceaccount name.", wrongBody["message"].Str());

        var stale = BoundTo(pod);
        stale["uid"] = Guid.NewGuid().ToString();
        var (conflict, conflictBody) = await RequestTokenAsync("default", stale);
        Assert.Equal(HttpStatusCode.Conflict, conflict);
        Assert.Contains("does not match the UID in record. The object might have been deleted and then recreated", conflictBody["message"].Str(), StringComparison.Ordinal);

        var (noPod, noPodBody) = await RequestTokenAsync("default", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["name"] = "nope" });
        Assert.Equal(HttpStatusCode.NotFound, noPod);
        Assert.Equal("pods \"nope\" not found", noPodBody["message"].Str());

        // TokenRequest itself is authorised: create on serviceaccounts/token.
        var (_, own) = await RequestTokenAsync("default", BoundTo(pod));
        using var asPod = Client(own["status"]!["token"].Str()!);
        var (forbidden, forbiddenBody) = await asPod.PostJsonAsync("/api/v1/namespaces/default/serviceaccounts/default/token", TokenRequest(null, null, null));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden);
        Assert.Equal("serviceaccounts \"default\" is forbidden: User \"system:serviceaccount:default:default\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the namespace \"default\"",
            forbiddenBody["message"].Str());
    }

    private Task CreateNodeAsync(string name) =>
        Http.PostJsonAsync("/api/v1/nodes", new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Node", ["metadata"] = new JsonObject { ["name"] = name } });

    private Task<(HttpStatusCode Code, JsonObject Body)> RequestTokenAsync(string account, JsonObject? boundTo, long? expirationSeconds = null, string[]? audiences = null) =>
        Http.PostJsonAsync($"/api/v1/namespaces/default/serviceaccounts/{account}/token", TokenRequest(boundTo, expirationSeconds, audiences));

    internal static JsonObject TokenRequest(JsonObject? boundTo, long? expirationSeconds, string[]? audiences)
    {
        var spec = new JsonObject();
        if (audiences is not null) spec["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode)a)]);
        if (expirationSeconds is { } seconds) spec["expirationSeconds"] = seconds;
        if (boundTo is not null) spec["boundObjectRef"] = boundTo;
        return new JsonObject { ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenRequest", ["spec"] = spec };
    }

    internal static JsonObject BoundTo(JsonObject pod) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["name"] = pod["metadata"]!["name"].Str(),
        ["uid"] = pod["metadata"]!["uid"].Str(),
    };

    private HttpClient Client(string token)
    {
        var client = Api.CreateClient(null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    internal static (JsonObject Header, JsonObject Claims) Decode(string token)
    {
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        return ((JsonObject)JsonNode.Parse(Base64Url.DecodeFromChars(parts[0]))!, (JsonObject)JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!);
    }

    private bool VerifySignature(string token)
    {
        var parts = token.Split('.');
        using var key = ECDsa.Create();
        key.ImportFromPem(Api.ServiceAccountTokens.PublicKeyPem);
        return key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256);
    }

    private static string PemBody(string pem) =>
        string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
}

/// <summary>A clock tests move by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
