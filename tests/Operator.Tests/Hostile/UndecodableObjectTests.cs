using System.Text.Json.Nodes;
using KubeApiFake;

namespace UserApiOperator.Tests.Hostile;

/// <summary>
/// Case 2: an object the operator's types cannot decode (stored with <c>Store.Put</c>, bypassing
/// validation, as an older CRD or a hand edit would leave it) must not stop the others.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class UndecodableObjectTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_UserApi_with_a_string_for_replicas_is_reported_and_the_others_go_on()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = world.StartOperator("undecodable");
        await world.ApplyUserApiAsync("first");
        await world.WaitReconciledAsync("first", TimeSpan.FromSeconds(30), op);

        world.Api.Store.Put(HostileWorld.UserApis, JsonNode.Parse("""
            {"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi",
             "metadata":{"name":"bad","namespace":"default"},"spec":{"replicas":"three"}}
            """)!.AsObject());
        await world.ApplyUserApiAsync("second"); // created after the bad one
        await world.ApplyUserApiAsync("first", replicas: 2); // changed after the bad one

        var reconciled = await Eventually(() => world.IsReconciled("second") && world.IsReconciled("first"), Bounded);
        var readyz = await op.ReadyzAsync();
        // /readyz tells the truth: ok only while the UserApis are being reconciled.
        Assert.True(reconciled == (readyz == 200), $"/readyz answered {readyz} while the others were {(reconciled ? "" : "not ")}reconciled\n{op.Transcript}");
        Assert.True(reconciled, $"with an undecodable UserApi stored, a new one and a change were not reconciled within {Bounded.TotalSeconds:0} s\n{op.Transcript}");

        // The bad one is reported: a log line naming it, a Warning Event on it, a metric.
        Assert.Contains(op.Lines, l => l.IsWarningOrWorse && l.Message.Contains("default/bad", StringComparison.Ordinal));
        await world.Api.WaitForAsync(() => world.Api.Store.List(KnownResources.Events, HostileWorld.Ns).Any(e =>
            (string?)e["type"] == "Warning" && (string?)e["involvedObject"]?["name"] == "bad" && (string?)e["involvedObject"]?["kind"] == "UserApi"), Bounded);
        var metrics = await op.MetricsAsync();
        Assert.True(DecodeFailureMetric(metrics) > 0, "no metric counts the undecodable object:\n" + metrics);

        // Deleting it lets everything go on.
        Assert.True(world.Api.Store.Delete(HostileWorld.UserApis, HostileWorld.Ns, "bad"));
        await world.ApplyUserApiAsync("third");
        await world.WaitReconciledAsync("third", Bounded, op);
        await op.WaitForReadyzAsync(200, TimeSpan.FromSeconds(5));
        Assert.Empty(world.Api.ServerErrors);
    }

    [Fact]
    public async Task Broken_labelled_children_of_each_owned_kind_are_reported_and_UserApis_go_on()
    {
        await using var world = await HostileWorld.StartAsync();
        var op = world.StartOperator("undecodable-children");
        await world.ApplyUserApiAsync("first");
        await world.WaitReconciledAsync("first", TimeSpan.FromSeconds(30), op);

        // One labelled object per owned kind with a field of the wrong JSON type. The cache reads of
        // each owned object only what it keeps (OwnedObjectCache): identity, owner, the fields this
        // operator applied, and the status fields a reconcile reads; a field of the wrong type there
        // makes the object undecodable. The Service's broken port list is a field the cache never
        // reads: it is stored all the same, and must disturb nothing.
        var broken = new (GroupVersionResource Resource, JsonObject Object)[]
        {
            (KnownResources.Secrets, Labelled("v1", "Secret", "junk-secret", """{"type":5}""")),
            (KnownResources.Deployments, Labelled("apps/v1", "Deployment", "junk-deployment", """{"status":{"replicas":"three"}}""")),
            (KnownResources.Services, Labelled("v1", "Service", "junk-service", """{"spec":{"ports":"eighty"}}""")),
            (KnownResources.Ingresses, Labelled("networking.k8s.io/v1", "Ingress", "junk-ingress", """{"status":{"loadBalancer":{"ingress":"all"}}}""")),
        };
        foreach (var (resource, obj) in broken)
        {
            world.Api.Store.Put(resource, obj);
        }

        await world.ApplyUserApiAsync("second");
        await world.ApplyUserApiAsync("first", replicas: 2);
        var reconciled = await Eventually(() => world.IsReconciled("second") && world.IsReconciled("first"), Bounded);
        var readyz = await op.ReadyzAsync();
        Assert.True(reconciled == (readyz == 200), $"/readyz answered {readyz} while the UserApis were {(reconciled ? "" : "not ")}reconciled\n{op.Transcript}");
        Assert.True(reconciled, $"with undecodable children stored, a new UserApi and a change were not reconciled within {Bounded.TotalSeconds:0} s\n{op.Transcript}");

        foreach (var name in new[] { "junk-secret", "junk-deployment", "junk-ingress" })
        {
            Assert.True(op.Lines.Any(l => l.IsWarningOrWorse && l.Message.Contains(name, StringComparison.Ordinal)), $"no warning names default/{name}\n{op.Transcript}");
        }

        Assert.True(DecodeFailureMetric(await op.MetricsAsync()) > 0, "no metric counts the undecodable objects");

        foreach (var (resource, obj) in broken)
        {
            world.Api.Store.Delete(resource, HostileWorld.Ns, (string)obj["metadata"]!["name"]!);
        }

        await world.ApplyUserApiAsync("third");
        await world.WaitReconciledAsync("third", Bounded, op);
        Assert.Empty(world.Api.ServerErrors);
    }

    /// <summary>An object carrying the operator's labels (so its label-selected informers see it) and <paramref name="body"/>.</summary>
    private static JsonObject Labelled(string apiVersion, string kind, string name, string body)
    {
        var obj = JsonNode.Parse(body)!.AsObject();
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        obj["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = HostileWorld.Ns,
            ["labels"] = new JsonObject
            {
                ["app.kubernetes.io/managed-by"] = "userapi-operator",
                ["app.kubernetes.io/name"] = "user-api",
                ["app.kubernetes.io/instance"] = "junk",
            },
        };
        return obj;
    }

    /// <summary>
    /// The sum of every metric sample whose name or labels speak of objects that could not be decoded
    /// (the name is the operator's to choose: any of decode, undecodable, malformed, invalid_object).
    /// </summary>
    private static double DecodeFailureMetric(string metrics) =>
        metrics.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#') && System.Text.RegularExpressions.Regex.IsMatch(l[..l.LastIndexOf(' ')], "decode|undecodable|malformed|invalid_object", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<bool> Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(200);
        }

        return condition();
    }
}
