using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Tests.Client;

public sealed class KubernetesErrorsTests : IAsyncLifetime
{
    private ScriptedApiServer _server = null!;
    private KubernetesClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await ScriptedApiServer.StartAsync();
        _client = new KubernetesClient(new KubernetesClientConfiguration { Server = _server.BaseUri });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<V1Secret> Apply() =>
        _client.ApplyAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "db", Namespace = "x" } }, "m", true, CancellationToken.None);

    [Theory]
    [InlineData(404, "NotFound", typeof(KubernetesNotFoundException), false)]
    [InlineData(409, "AlreadyExists", typeof(KubernetesAlreadyExistsException), false)]
    [InlineData(409, "Conflict", typeof(KubernetesConflictException), false)]
    [InlineData(410, "Expired", typeof(KubernetesGoneException), false)]
    [InlineData(403, "Forbidden", typeof(KubernetesForbiddenException), false)]
    [InlineData(401, "Unauthorized", typeof(KubernetesUnauthorizedException), false)]
    [InlineData(422, "Invalid", typeof(KubernetesInvalidException), false)]
    [InlineData(400, "BadRequest", typeof(KubernetesApiException), false)]
    [InlineData(500, "InternalError", typeof(KubernetesApiException), true)]
    [InlineData(503, "ServiceUnavailable", typeof(KubernetesApiException), true)]
    [InlineData(504, "Timeout", typeof(KubernetesApiException), true)]
    [InlineData(429, "TooManyRequests", typeof(KubernetesApiException), true)]
    public async Task Status_bodies_map_to_typed_exceptions(int code, string reason, Type expected, bool transient)
    {
        _server.RespondStatus(code, reason, $"the {reason} message");

        var error = await Assert.ThrowsAnyAsync<KubernetesApiException>(Apply);

        Assert.IsType(expected, error);
        Assert.Equal(code, error.StatusCode);
        Assert.Equal(reason, error.Reason);
        Assert.Equal($"the {reason} message", error.ServerMessage);
        Assert.NotNull(error.Status);
        Assert.Equal("PATCH", error.Method);
        Assert.Equal("/api/v1/namespaces/x/secrets/db", error.RequestUri!.AbsolutePath);
        Assert.Contains($"{code} {reason}: the {reason} message", error.Message, StringComparison.Ordinal);
        Assert.Equal(transient, error.IsTransient);
        Assert.Equal(transient, KubernetesErrors.IsTransient(error));
    }

    [Fact]
    public async Task Invalid_carries_its_causes()
    {
        _server.RespondStatus(
            422,
            "Invalid",
            "UserApi.userapi.example.com \\\"a\\\" is invalid: spec.replicas: Invalid value: 500: must be less than or equal to 100",
            details: """{"name":"a","kind":"UserApi","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 500: must be less than or equal to 100","field":"spec.replicas"},{"reason":"FieldValueRequired","message":"Required value","field":"spec.api.image"}]}""");

        var error = await Assert.ThrowsAsync<KubernetesInvalidException>(Apply);

        Assert.Equal(2, error.Causes.Count);
        Assert.Equal("spec.replicas", error.Causes[0].Field);
        Assert.Equal("FieldValueInvalid", error.Causes[0].Reason);
        Assert.Equal("Required value", error.Causes[1].Message);
    }

    [Fact]
    public async Task Retry_after_is_parsed_from_the_header()
    {
        _server.RespondStatus(500, "InternalError", "try later", new Dictionary<string, string> { ["Retry-After"] = "7" });
        var error = await Assert.ThrowsAsync<KubernetesApiException>(Apply);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task A_non_status_body_still_gives_a_typed_exception_with_a_truncated_excerpt()
    {
        var html = "<html><body><h1>502 Bad Gateway</h1>" + new string('x', 5000) + "</body></html>";
        _server.Respond(502, html, "text/html");

        var error = await Assert.ThrowsAsync<KubernetesApiException>(Apply);

        Assert.Equal(502, error.StatusCode);
        Assert.Null(error.Status);
        Assert.Equal("Unknown", error.Reason);
        Assert.True(error.IsTransient);
        Assert.StartsWith("<html><body><h1>502 Bad Gateway</h1>", error.ResponseBody, StringComparison.Ordinal);
        Assert.True(error.ResponseBody!.Length <= KubernetesErrors.MaxBodyExcerpt + 3);
        Assert.Contains("not a Kubernetes Status", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 1000);
    }

    [Fact]
    public async Task A_non_status_404_from_a_proxy_is_still_not_found()
    {
        _server.Respond(404, "404 page not found", "text/plain");
        var error = await Assert.ThrowsAsync<KubernetesNotFoundException>(Apply);
        Assert.Equal("NotFound", error.Reason);
        Assert.Equal("404 page not found", error.ResponseBody);
    }

    [Fact]
    public void From_status_maps_expired_with_any_code_to_gone()
    {
        Assert.IsType<KubernetesGoneException>(KubernetesErrors.FromStatus(500, new V1Status { Reason = "Expired", Code = 500 }));
        Assert.IsType<KubernetesGoneException>(KubernetesErrors.FromStatus(410, null));
    }

    [Fact]
    public void Transient_classification_of_transport_failures()
    {
        Assert.True(KubernetesErrors.IsTransient(new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.False(KubernetesErrors.IsTransient(new HttpRequestException("tls", new AuthenticationException("untrusted root"))));
        Assert.True(KubernetesErrors.IsTransient(new IOException("reset")));
        Assert.True(KubernetesErrors.IsTransient(new TimeoutException()));
        Assert.True(KubernetesErrors.IsTransient(new TaskCanceledException("timeout", new TimeoutException())));
        Assert.False(KubernetesErrors.IsTransient(new OperationCanceledException()));
        Assert.False(KubernetesErrors.IsTransient(new JsonException()));
        Assert.False(KubernetesErrors.IsTransient(new KubeConfigException("bad")));
        Assert.True(KubernetesErrors.IsTransient(new AggregateException(new InvalidOperationException(), new IOException())));
    }

    [Fact]
    public void Retry_after_dates_are_relative_to_now_and_never_negative()
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(30), KubernetesErrors.RetryAfterOf(new System.Net.Http.Headers.RetryConditionHeaderValue(now.AddSeconds(30)), now));
        Assert.Equal(TimeSpan.Zero, KubernetesErrors.RetryAfterOf(new System.Net.Http.Headers.RetryConditionHeaderValue(now.AddSeconds(-30)), now));
        Assert.Null(KubernetesErrors.RetryAfterOf(null, now));
    }
}
