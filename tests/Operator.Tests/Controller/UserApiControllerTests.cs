using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using UserApiOperator.Controller;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Runtime;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.Controller;

/// <summary>The controller's decisions, with the API server mocked (Moq) at the IKubernetesClient seam.</summary>
public class UserApiControllerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private readonly Mock<IKubernetesClient> _client = new(MockBehavior.Strict);
    private readonly Mock<IEventRecorder> _events = new();
    private readonly List<(string Type, string Reason, string Message)> _recorded = [];
    private JsonObject? _statusPatch;

    public UserApiControllerTests()
    {
        _events.Setup(e => e.RecordAsync(It.IsAny<IKubernetesObject>(), It.IsAny<string>(), It.IsAny<string>(), It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .Callback<IKubernetesObject, string, string, string, CancellationToken>((_, type, reason, message, _) => _recorded.Add((type, reason, message)))
            .Returns(Task.CompletedTask);
        _client.Setup(c => c.PatchStatusAsync<V1Alpha1UserApi>(It.IsAny<string>(), It.IsAny<string?>(), It.IsAny<JsonNode>(), "userapi-operator", It.IsAny<CancellationToken>()))
            .Callback<string, string?, JsonNode, string, CancellationToken>((_, _, patch, _, _) => _statusPatch = patch.AsObject())
            .ReturnsAsync(new V1Alpha1UserApi());
    }

    private UserApiController Controller() =>
        new(_client.Object, _events.Object, new FixedTime(Now), NullLogger<UserApiController>.Instance);

    private static V1Alpha1UserApi UserApi(string spec = "")
    {
        var userApi = UserApis.FromSpec(spec);
        userApi.Metadata.Generation = 2;
        return userApi;
    }

    private void Live<T>(string name, T? obj)
        where T : class, IKubernetesObject =>
        _client.Setup(c => c.GetAsync<T>(name, "team-a", It.IsAny<CancellationToken>())).ReturnsAsync(obj);

    private void ApplyReturnsInput<T>()
        where T : class, IKubernetesObject =>
        _client.Setup(c => c.ApplyAsync(It.IsAny<T>(), "userapi-operator", true, It.IsAny<CancellationToken>()))
            .ReturnsAsync((T obj, string _, bool _, CancellationToken _) => obj);

    /// <summary>Live objects exactly as desired, with a ready Deployment, and the Secret in place.</summary>
    private void EverythingInPlace(V1Alpha1UserApi userApi, int ready = 3)
    {
        var desired = DesiredObjects.For(userApi, "pw");
        Live("alpha-mysql", Secret("alpha", userApi.Metadata.Uid));
        var deployment = desired.Deployment;
        deployment.Metadata.Generation = 1;
        deployment.Status = new V1DeploymentStatus { ObservedGeneration = 1, Replicas = 3, UpdatedReplicas = 3, ReadyReplicas = ready, AvailableReplicas = ready };
        Live("alpha", deployment);
        Live("alpha", desired.Service);
        Live("alpha", desired.Ingress);
    }

    private static V1Secret Secret(string owner, string? uid) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"{owner}-mysql",
            Namespace = "team-a",
            OwnerReferences = uid is null ? null : [new V1OwnerReference { ApiVersion = "userapi.example.com/v1alpha1", Kind = "UserApi", Name = owner, Uid = uid, Controller = true }],
        },
        Data = new Dictionary<string, byte[]> { ["MYSQL_PASSWORD"] = Encoding.UTF8.GetBytes("kept-password") },
    };

    [Fact]
    public async Task A_new_UserApi_gets_its_secret_created_and_three_objects_applied_then_one_event_and_a_progressing_status()
    {
        var userApi = UserApi();
        Live<V1Secret>("alpha-mysql", null);
        Live<V1Deployment>("alpha", null);
        Live<V1Service>("alpha", null);
        Live<V1Ingress>("alpha", null);
        V1Secret? created = null;
        _client.Setup(c => c.CreateAsync(It.IsAny<V1Secret>(), "userapi-operator", It.IsAny<CancellationToken>()))
            .Callback<V1Secret, string, CancellationToken>((s, _, _) => created = s)
            .ReturnsAsync((V1Secret s, string _, CancellationToken _) => s);
        ApplyReturnsInput<V1Deployment>();
        ApplyReturnsInput<V1Service>();
        ApplyReturnsInput<V1Ingress>();

        var controller = Controller();
        var result = await controller.ReconcileAsync(userApi, CancellationToken.None);

        // The status waits for the Deployment controller's first report, within a bound.
        Assert.Null(_statusPatch);
        Assert.Equal(UserApiController.FirstReportWait, result.RequeueAfter);
        Assert.Equal("alpha-mysql", created!.Metadata.Name);
        Assert.True(Encoding.UTF8.GetString(created.Data!["MYSQL_PASSWORD"]).Length >= 24);
        _client.Verify(c => c.ApplyAsync(It.Is<V1Deployment>(d => d.Spec!.Replicas == 3), "userapi-operator", true, It.IsAny<CancellationToken>()), Times.Once);
        var (type, reason, message) = Assert.Single(_recorded);
        Assert.Equal(("Normal", "Created"), (type, reason));
        Assert.Equal("Created Secret alpha-mysql, created Deployment alpha, created Service alpha, created Ingress alpha", message);

        // No report within the bound: the status is written anyway.
        EverythingInPlace(userApi, ready: 0);
        Live("alpha", DesiredObjects.For(userApi, "pw").Deployment); // Still no status from the Deployment controller.
        var later = new UserApiController(_client.Object, _events.Object, new FixedTime(Now + UserApiController.FirstReportWait), NullLogger<UserApiController>.Instance);
        Assert.Equal(ReconcileResult.Done, await later.ReconcileAsync(userApi, CancellationToken.None));
        Assert.NotNull(_statusPatch);
        var status = _statusPatch!["status"]!;
        Assert.Equal("2", status["observedGeneration"]!.ToJsonString());
        Assert.Equal("alpha-mysql", (string?)status["secretName"]);
        Assert.Equal("app.kubernetes.io/name=user-api,app.kubernetes.io/instance=alpha", (string?)status["selector"]);
        Assert.Equal(["False", "True", "False"], status["conditions"]!.AsArray().Select(c => (string?)c!["status"]));
    }

    [Fact]
    public async Task The_first_status_is_written_as_soon_as_the_Deployment_controller_reports()
    {
        var userApi = UserApi();
        Live<V1Secret>("alpha-mysql", null);
        Live<V1Deployment>("alpha", null);
        Live<V1Service>("alpha", null);
        Live<V1Ingress>("alpha", null);
        _client.Setup(c => c.CreateAsync(It.IsAny<V1Secret>(), "userapi-operator", It.IsAny<CancellationToken>())).ReturnsAsync((V1Secret s, string _, CancellationToken _) => s);
        ApplyReturnsInput<V1Deployment>();
        ApplyReturnsInput<V1Service>();
        ApplyReturnsInput<V1Ingress>();
        var controller = Controller();
        await controller.ReconcileAsync(userApi, CancellationToken.None);
        Assert.Null(_statusPatch);

        EverythingInPlace(userApi); // The Deployment controller has reported: all ready.
        var result = await controller.ReconcileAsync(userApi, CancellationToken.None);

        Assert.Equal(ReconcileResult.Done, result);
        var ready = Conditions.Find(KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!).Conditions, Conditions.Ready)!;
        Assert.Equal("True", ready.Status);
    }

    [Fact]
    public async Task When_everything_is_in_place_nothing_is_written()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);
        // First pass writes the Ready status; feed it back as the current status.
        await Controller().ReconcileAsync(userApi, CancellationToken.None);
        userApi.Status = KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!);
        _recorded.Clear();
        _client.Invocations.Clear();

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.DoesNotContain(_client.Invocations, i => i.Method.Name is not "GetAsync");
        Assert.Empty(_recorded);
    }

    [Fact]
    public async Task Ready_status_when_every_replica_is_ready()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        var status = KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!);
        Assert.Equal((3, 3), (status.Replicas, status.ReadyReplicas));
        var ready = Conditions.Find(status.Conditions, Conditions.Ready)!;
        Assert.Equal(("True", "Available", "3/3 replicas ready", 2L), (ready.Status, ready.Reason, ready.Message, ready.ObservedGeneration));
        Assert.Equal("False", Conditions.Find(status.Conditions, Conditions.Progressing)!.Status);
        Assert.Equal("False", Conditions.Find(status.Conditions, Conditions.Degraded)!.Status);
        Assert.Empty(_recorded);
    }

    [Fact]
    public async Task An_edited_child_is_applied_again()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);
        var edited = DesiredObjects.For(userApi, "pw").Service;
        edited.Spec!.Ports![0].Port = 9999;
        Live("alpha", edited);
        ApplyReturnsInput<V1Service>();

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        _client.Verify(c => c.ApplyAsync(It.Is<V1Service>(s => s.Spec!.Ports![0].Port == 8000), "userapi-operator", true, It.IsAny<CancellationToken>()), Times.Once);
        _client.Verify(c => c.ApplyAsync(It.IsAny<V1Deployment>(), It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()), Times.Never);
        Assert.Contains(_recorded, e => e is ("Normal", "Updated", "Updated Service alpha"));
    }

    [Fact]
    public async Task An_existing_password_is_never_replaced()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        _client.Verify(c => c.CreateAsync(It.IsAny<V1Secret>(), It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
        _client.Verify(c => c.ApplyAsync(It.IsAny<V1Secret>(), It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()), Times.Never);
        _client.Verify(c => c.PatchAsync<V1Secret>(It.IsAny<string>(), It.IsAny<string?>(), It.IsAny<JsonNode>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_secret_created_meanwhile_is_kept()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);
        Live<V1Secret>("alpha-mysql", null);
        _client.Setup(c => c.CreateAsync(It.IsAny<V1Secret>(), "userapi-operator", It.IsAny<CancellationToken>()))
            .ThrowsAsync(KubernetesErrors.FromStatus(409, new V1Status { Code = 409, Reason = "AlreadyExists", Message = "secrets \"alpha-mysql\" already exists" }));

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.DoesNotContain(_recorded, e => e.Reason == "Created");
    }

    [Fact]
    public async Task An_invalid_spec_applies_nothing_and_reports_Degraded_InvalidSpec_with_a_warning_event()
    {
        var userApi = UserApi();
        userApi.Spec.Replicas = 500; // Got past an older schema.
        userApi.Spec.Ingress.Host = "Not A Host";
        Live<V1Deployment>("alpha", null);

        var result = await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.Equal(ReconcileResult.Done, result);
        Assert.DoesNotContain(_client.Invocations, i => i.Method.Name is "ApplyAsync" or "CreateAsync" or "DeleteAsync");
        var degraded = Conditions.Find(KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!).Conditions, Conditions.Degraded)!;
        Assert.Equal(("True", "InvalidSpec"), (degraded.Status, degraded.Reason));
        Assert.Contains("spec.replicas: must be at most 100, got 500", degraded.Message, StringComparison.Ordinal);
        Assert.Contains("spec.ingress.host", degraded.Message, StringComparison.Ordinal);
        var warning = Assert.Single(_recorded);
        Assert.Equal(("Warning", "InvalidSpec"), (warning.Type, warning.Reason));
    }

    [Fact]
    public async Task The_InvalidSpec_warning_is_not_repeated_while_the_spec_stays_the_same()
    {
        var userApi = UserApi();
        userApi.Spec.Replicas = 500;
        Live<V1Deployment>("alpha", null);
        await Controller().ReconcileAsync(userApi, CancellationToken.None);
        userApi.Status = KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!);
        _recorded.Clear();
        _statusPatch = null;

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.Empty(_recorded);
        Assert.Null(_statusPatch);
    }

    [Fact]
    public async Task A_status_write_rejected_as_invalid_becomes_a_warning_not_a_retry_loop()
    {
        var userApi = UserApi();
        userApi.Spec.Replicas = 500;
        Live<V1Deployment>("alpha", null);
        _client.Setup(c => c.PatchStatusAsync<V1Alpha1UserApi>(It.IsAny<string>(), It.IsAny<string?>(), It.IsAny<JsonNode>(), "userapi-operator", It.IsAny<CancellationToken>()))
            .ThrowsAsync(KubernetesErrors.FromStatus(422, new V1Status { Code = 422, Reason = "Invalid", Message = "UserApi.userapi.example.com \"alpha\" is invalid: spec.replicas: Invalid value: 500" }));

        var result = await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.Equal(ReconcileResult.Done, result);
        var warning = Assert.Single(_recorded);
        Assert.Equal(("Warning", "InvalidSpec"), (warning.Type, warning.Reason));
        Assert.Contains("spec.replicas", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_referenced_secret_gives_Degraded_SecretNotFound_and_a_recheck_but_still_applies()
    {
        var userApi = UserApi("database: {passwordSecretRef: {name: shared-db}}");
        EverythingInPlace(userApi);
        Live<V1Secret>("shared-db", null);

        var result = await Controller().ReconcileAsync(userApi, CancellationToken.None);

        Assert.Equal(UserApiController.MissingSecretRecheck, result.RequeueAfter);
        _client.Verify(c => c.CreateAsync(It.IsAny<V1Secret>(), It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
        var status = KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!);
        Assert.Equal("shared-db", status.SecretName);
        var degraded = Conditions.Find(status.Conditions, Conditions.Degraded)!;
        Assert.Equal(("True", "SecretNotFound", "spec.database.passwordSecretRef: Secret team-a/shared-db not found"), (degraded.Status, degraded.Reason, degraded.Message));
        Assert.Equal("False", Conditions.Find(status.Conditions, Conditions.Ready)!.Status);
        Assert.Contains(_recorded, e => e is ("Warning", "SecretNotFound", _));
    }

    [Fact]
    public async Task A_referenced_secret_without_the_key_is_reported()
    {
        var userApi = UserApi("database: {passwordSecretRef: {name: shared-db, key: root}}");
        EverythingInPlace(userApi);
        Live("shared-db", Secret("shared", null));

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        var degraded = Conditions.Find(KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!).Conditions, Conditions.Degraded)!;
        Assert.Equal("spec.database.passwordSecretRef: Secret team-a/shared-db has no key \"root\"", degraded.Message);
    }

    [Fact]
    public async Task A_child_controlled_by_something_else_is_left_alone_and_reported()
    {
        var userApi = UserApi();
        EverythingInPlace(userApi);
        var foreign = DesiredObjects.For(userApi, "pw").Service;
        foreign.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = "other", Uid = "other-uid", Controller = true }];
        foreign.Spec!.Ports![0].Port = 1234;
        Live("alpha", foreign);

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        _client.Verify(c => c.ApplyAsync(It.IsAny<V1Service>(), It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()), Times.Never);
        var degraded = Conditions.Find(KubernetesJson.Deserialize<UserApiStatus>(_statusPatch!["status"]!).Conditions, Conditions.Degraded)!;
        Assert.Equal("OwnershipConflict", degraded.Reason);
        Assert.Contains("Service team-a/alpha is controlled by Deployment other", degraded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabling_the_ingress_deletes_our_ingress()
    {
        var userApi = UserApi("ingress: {enabled: false}");
        EverythingInPlace(userApi);
        Live("alpha", DesiredObjects.For(UserApi(), "pw").Ingress);
        _client.Setup(c => c.DeleteAsync<V1Ingress>("alpha", "team-a", It.IsAny<CancellationToken>(), "Background")).ReturnsAsync(true);

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        _client.Verify(c => c.DeleteAsync<V1Ingress>("alpha", "team-a", It.IsAny<CancellationToken>(), "Background"), Times.Once);
        Assert.Contains(_recorded, e => e is ("Normal", "Updated", "Deleted Ingress alpha"));
        Assert.Null(_statusPatch!["status"]!["url"]);
    }

    [Fact]
    public async Task Disabling_the_ingress_leaves_an_ingress_we_do_not_control()
    {
        var userApi = UserApi("ingress: {enabled: false}");
        EverythingInPlace(userApi);
        var theirs = DesiredObjects.For(UserApi(), "pw").Ingress!;
        theirs.Metadata.OwnerReferences = null;
        Live("alpha", theirs);

        await Controller().ReconcileAsync(userApi, CancellationToken.None);

        _client.Verify(c => c.DeleteAsync<V1Ingress>(It.IsAny<string>(), It.IsAny<string?>(), It.IsAny<CancellationToken>(), It.IsAny<string>()), Times.Never);
    }

    [Fact]
    public async Task A_failure_is_reported_once_per_distinct_error_and_rethrown()
    {
        var userApi = UserApi();
        _client.Setup(c => c.GetAsync<V1Secret>("alpha-mysql", "team-a", It.IsAny<CancellationToken>()))
            .ThrowsAsync(new HttpRequestException("connection refused"));
        var controller = Controller();

        await Assert.ThrowsAsync<HttpRequestException>(() => controller.ReconcileAsync(userApi, CancellationToken.None));
        await Assert.ThrowsAsync<HttpRequestException>(() => controller.ReconcileAsync(userApi, CancellationToken.None));

        var warning = Assert.Single(_recorded);
        Assert.Equal(("Warning", "ReconcileFailed", "HttpRequestException: connection refused"), warning);
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
