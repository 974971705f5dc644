using System.Text.Json.Nodes;
using KubeApiFake;

namespace UserApiOperator.Tests.Live;

/// <summary>Placement, the external database and the CRD's CEL rules with the real operator against the fake API server.</summary>
public sealed class PodSpecLiveTests
{
    private const string Sample = "userapi-sample";

    private const string ExternalSpec = """
        apiVersion: userapi.example.com/v1alpha1
        kind: UserApi
        metadata: {name: userapi-sample, namespace: default}
        spec:
          database:
            external:
              host: mysql.prod.example.com
              database: users
              user: api
              passwordSecretRef: {name: prod-mysql, key: password}
              sslMode: VerifyCA
              caSecretRef: {name: prod-mysql-ca, key: ca.crt}
        """;

    private static JsonArray Containers(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray();

    private static string? Env(JsonNode container, string name) =>
        (string?)container["env"]!.AsArray().FirstOrDefault(e => (string?)e!["name"] == name)?["value"];

    [Fact]
    public async Task Switching_to_an_external_database_and_back_is_a_rolling_update_that_keeps_the_generated_secret()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        var generated = await live.WaitForAsync(KnownResources.Secrets, "userapi-sample-mysql", _ => true);
        await live.WaitForAsync(KnownResources.Deployments, Sample, d => Containers(d).Count == 2);
        await live.ApplyYamlAsync("""
            apiVersion: v1
            kind: Secret
            metadata: {name: prod-mysql, namespace: default}
            stringData: {password: from-the-dba}
            """);

        await live.ApplyYamlAsync(ExternalSpec);

        var deployment = await live.WaitForAsync(KnownResources.Deployments, Sample, d => Containers(d).Count == 1);
        var api = Containers(deployment).Single()!;
        Assert.Equal("api", (string?)api["name"]);
        Assert.Equal(("mysql.prod.example.com", "3306", "api", "users", "VerifyCA", "/etc/userapi/mysql-ca/ca.pem"),
            (Env(api, "MYSQL_HOST"), Env(api, "MYSQL_PORT"), Env(api, "MYSQL_USER"), Env(api, "MYSQL_DATABASE"), Env(api, "MYSQL_SSL_MODE"), Env(api, "MYSQL_SSL_CA")));
        var password = api["env"]!.AsArray().Single(e => (string?)e!["name"] == "MYSQL_PASSWORD")!["valueFrom"]!["secretKeyRef"]!;
        Assert.Equal(("prod-mysql", "password"), ((string?)password["name"], (string?)password["key"]));
        Assert.Contains(deployment["spec"]!["template"]!["spec"]!["volumes"]!.AsArray(), v => (string?)v!["secret"]?["secretName"] == "prod-mysql-ca");
        Assert.Equal("RollingUpdate", (string?)deployment["spec"]!["strategy"]!["type"]);
        live.MarkDeploymentAvailable(Sample);
        var userApi = await live.WaitForConditionAsync(Sample, "Ready", "True");
        Assert.Equal("prod-mysql", (string?)userApi["status"]!["secretName"]);

        // The generated Secret from before stays, password and all: a password is never destroyed.
        Assert.Equal((string?)generated["data"]!["MYSQL_PASSWORD"], (string?)live.Get(KnownResources.Secrets, "userapi-sample-mysql")!["data"]!["MYSQL_PASSWORD"]);
        Assert.DoesNotContain(live.Api.Requests, r => r.Method == "DELETE" && r.Path.Contains("/secrets/", StringComparison.Ordinal));

        // And back: the db container returns with the same generated password. The external block is
        // removed with a merge patch (as kubectl apply without --server-side does when the block leaves
        // the file): a server-side apply that just omits it leaves its defaulted fields behind, since
        // no manager owns them, and the schema then finds host and passwordSecretRef missing.
        using (var http = live.Api.CreateClient())
        {
            using var patch = new StringContent("""{"spec":{"database":{"external":null}}}""", System.Text.Encoding.UTF8, "application/merge-patch+json");
            using var response = await http.PatchAsync(new Uri($"/apis/userapi.example.com/v1alpha1/namespaces/default/userapis/{Sample}", UriKind.Relative), patch);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        deployment = await live.WaitForAsync(KnownResources.Deployments, Sample, d => Containers(d).Count == 2);
        Assert.Equal(["db", "api"], Containers(deployment).Select(c => (string?)c!["name"]));
        Assert.Equal("127.0.0.1", Env(Containers(deployment)[1]!, "MYSQL_HOST"));
        Assert.Null(Env(Containers(deployment)[1]!, "MYSQL_SSL_MODE"));
        Assert.Equal("userapi-sample-mysql", (string?)Containers(deployment)[1]!["env"]!.AsArray().Single(e => (string?)e!["name"] == "MYSQL_PASSWORD")!["valueFrom"]!["secretKeyRef"]!["name"]);
        Assert.DoesNotContain(deployment["spec"]!["template"]!["spec"]!["volumes"]!.AsArray(), v => (string?)v!["name"] == "mysql-ca");
        Assert.Equal((string?)generated["data"]!["MYSQL_PASSWORD"], (string?)live.Get(KnownResources.Secrets, "userapi-sample-mysql")!["data"]!["MYSQL_PASSWORD"]);
        Assert.Empty(live.Api.ServerErrors);
    }

    [Fact]
    public async Task An_external_database_from_the_start_creates_no_secret()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplyYamlAsync("apiVersion: v1\nkind: Secret\nmetadata: {name: prod-mysql, namespace: default}\nstringData: {password: pw}\n");

        await live.ApplyYamlAsync(ExternalSpec);

        await live.WaitForAsync(KnownResources.Deployments, Sample, d => Containers(d).Count == 1);
        await live.WaitForConditionAsync(Sample, "Progressing", "True");
        Assert.Null(live.Get(KnownResources.Secrets, "userapi-sample-mysql"));
        Assert.DoesNotContain(live.Api.Requests, r => r.Method == "POST" && r.Path.EndsWith("/secrets", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_external_password_secret_is_reported_by_its_field()
    {
        await using var live = await LiveOperator.StartAsync();

        await live.ApplyYamlAsync(ExternalSpec);

        var userApi = await live.WaitForConditionAsync(Sample, "Degraded", "True");
        var degraded = LiveOperator.Condition(userApi, "Degraded")!;
        Assert.Equal("SecretNotFound", (string?)degraded["reason"]);
        Assert.Equal("spec.database.external.passwordSecretRef: Secret default/prod-mysql not found", (string?)degraded["message"]);
        Assert.Null(live.Get(KnownResources.Secrets, "userapi-sample-mysql"));
    }

    [Fact]
    public async Task A_placement_change_is_rolled_out_and_drift_from_it_is_repaired()
    {
        await using var live = await LiveOperator.StartAsync();
        await live.ApplySampleAsync();
        var deployment = await live.WaitForAsync(KnownResources.Deployments, Sample, _ => true);
        var spread = deployment["spec"]!["template"]!["spec"]!["topologySpreadConstraints"]!.AsArray().Single()!;
        Assert.Equal(("kubernetes.io/hostname", "ScheduleAnyway"), ((string?)spread["topologyKey"], (string?)spread["whenUnsatisfiable"]));

        await live.ApplyYamlAsync("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: userapi-sample, namespace: default}
            spec:
              pod:
                labels: {team: payments}
                nodeSelector: {disktype: ssd}
                tolerations: [{key: dedicated, operator: Equal, value: api, effect: NoSchedule}]
                priorityClassName: business-critical
                imagePullSecrets: [{name: registry-creds}]
            """);

        static bool Placed(JsonObject d)
        {
            var pod = d["spec"]!["template"]!["spec"]!;
            return (string?)pod["nodeSelector"]?["disktype"] == "ssd"
                && pod["tolerations"]?.AsArray().Count == 1
                && (string?)pod["priorityClassName"] == "business-critical"
                && (string?)pod["imagePullSecrets"]?[0]?["name"] == "registry-creds"
                && (string?)d["spec"]!["template"]!["metadata"]!["labels"]!["team"] == "payments";
        }

        deployment = await live.WaitForAsync(KnownResources.Deployments, Sample, Placed);
        Assert.Equal("userapi-sample", (string?)deployment["spec"]!["template"]!["metadata"]!["labels"]!["app.kubernetes.io/instance"]);

        // Someone edits the Deployment by hand: the operator puts its placement back.
        live.Api.Store.Update(KnownResources.Deployments, "default", Sample, d =>
        {
            var pod = d["spec"]!["template"]!["spec"]!.AsObject();
            pod.Remove("nodeSelector");
            pod["tolerations"]!.AsArray().Add(new JsonObject { ["operator"] = "Exists" });
            pod["priorityClassName"] = "low";
        });
        await live.WaitForAsync(KnownResources.Deployments, Sample, Placed);
        Assert.Empty(live.Api.ServerErrors);
    }

    [Fact]
    public async Task The_fake_rejects_a_userapi_that_breaks_a_cel_rule_before_the_operator_sees_it()
    {
        await using var live = await LiveOperator.StartAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => live.ApplyYamlAsync("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: userapi-sample, namespace: default}
            spec:
              ingress: {tlsSecretName: userapi-tls}
            """));

        Assert.Contains("422", error.Message, StringComparison.Ordinal);
        Assert.Contains("spec.ingress.host: Required value: tlsSecretName needs a host: the certificate is for a host name", error.Message, StringComparison.Ordinal);
        Assert.Null(live.Get(LiveOperator.UserApis, Sample));

        // An update that breaks a rule leaves the stored object, and so the operator's work, as it was.
        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Deployments, Sample, _ => true);
        await Assert.ThrowsAsync<InvalidOperationException>(() => live.ApplyYamlAsync("""
            apiVersion: userapi.example.com/v1alpha1
            kind: UserApi
            metadata: {name: userapi-sample, namespace: default}
            spec:
              database: {image: mysql:8, external: {host: db, passwordSecretRef: {name: s}}}
            """));
        Assert.Null(live.Get(LiveOperator.UserApis, Sample)!["spec"]!["database"]!["external"]);
        Assert.Equal(2, Containers(live.Get(KnownResources.Deployments, Sample)!).Count);
    }
}
