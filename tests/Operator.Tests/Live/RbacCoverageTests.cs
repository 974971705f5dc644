using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KubeApiFake;
using UserApiOperator.Hosting;

namespace UserApiOperator.Tests.Live;

/// <summary>
/// Every API call the operator makes is granted by the RBAC of <c>kubectl kustomize config/default</c>,
/// and every grant is used: the operator runs every path that calls the API (create, drift, disabled
/// Ingress, autoscaler, disruption budget and network policy, a removed password key, a referenced
/// Secret, leader election) against the fake API server,
/// and its request log is compared with the rendered ClusterRole and leader-election Role.
/// </summary>
public sealed partial class RbacCoverageTests
{
    [Fact]
    public async Task Every_call_is_granted_and_every_grant_is_used()
    {
        var leaseNamespace = RenderedManifests.LeaderElectionNamespace();
        await using var live = await LiveOperator.StartAsync(startOperator: false);
        live.Api.ClearRequests(); // The CRD install is the user's call, not the operator's.
        await live.StartOperatorAsync(new OperatorOptions
        {
            LeaderElect = true,
            LeaderElectionNamespace = leaseNamespace,
            // Renewals every 200 ms, as in a long run; a lease long enough that a busy machine does not
            // make the leader give up halfway through the run (it stops reconciling when it does).
            LeaderElectionTimings = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(200)),
        });

        await live.ApplySampleAsync();
        await live.WaitForAsync(KnownResources.Ingresses, "userapi-sample", _ => true);
        live.MarkDeploymentAvailable("userapi-sample");
        await live.WaitForConditionAsync("userapi-sample", "Ready", "True");
        live.Api.Store.Update(KnownResources.Secrets, "default", "userapi-sample-mysql", s => s["data"] = new JsonObject());
        await live.WaitForAsync(KnownResources.Secrets, "userapi-sample-mysql", s => s["data"]?["MYSQL_PASSWORD"] is not null);
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {ingress: {enabled: false}}\n");
        await live.Api.WaitForDeletionAsync(KnownResources.Ingresses, "default", "userapi-sample", LiveOperator.Timeout);
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {ingress: {enabled: false}, autoscaling: {enabled: true}}\n");
        await live.WaitForAsync(KnownResources.HorizontalPodAutoscalers, "userapi-sample", _ => true);
        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: userapi-sample, namespace: default}\nspec: {ingress: {enabled: false}, replicas: 1, networkPolicy: {enabled: false}}\n");
        foreach (var gone in new[] { KnownResources.HorizontalPodAutoscalers, KnownResources.PodDisruptionBudgets, KnownResources.NetworkPolicies })
        {
            try
            {
                await live.Api.WaitForDeletionAsync(gone, "default", "userapi-sample", LiveOperator.Timeout);
            }
            catch (TimeoutException e)
            {
                var log = live.Logs.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Information).Select(l => l.Message);
                throw new TimeoutException($"{e.Message}\n{string.Join("\n", log)}", e);
            }
        }

        await live.ApplyYamlAsync("apiVersion: userapi.example.com/v1alpha1\nkind: UserApi\nmetadata: {name: shared, namespace: default}\nspec: {database: {passwordSecretRef: {name: db-credentials}}}\n");
        await live.WaitForConditionAsync("shared", "Degraded", "True");
        // A renewal (update) since the last step, so that the Lease's grants are used as in a long run.
        var renewals = live.Api.Requests.Count(r => r.Method == "PUT" && r.Path.Contains("/leases/", StringComparison.Ordinal));
        await live.Api.WaitForAsync(() => live.Api.Requests.Count(r => r.Method == "PUT" && r.Path.Contains("/leases/", StringComparison.Ordinal) && r.StatusCode == 200) > renewals, LiveOperator.Timeout);
        await live.StopOperatorAsync(); // Releases the Lease.

        var calls = live.Api.Requests
            .Where(r => r.UserAgent?.StartsWith("userapi-operator", StringComparison.Ordinal) == true && r.Verb is not null)
            .SelectMany(r => r.Verbs.Select(verb => (Grant: Grant(verb, r.Path), Namespace: NamespaceOf(r.Path))))
            .ToHashSet();
        var missing = calls.Where(c => !RenderedManifests.Grants(c.Grant.Group, c.Grant.Resource, c.Grant.Verb, leaderElection: c.Namespace == leaseNamespace)).ToList();
        var granted = RenderedManifests.ClusterGrants().Union(RenderedManifests.LeaderElectionGrants()).ToHashSet();
        var unused = granted.Where(g => !calls.Any(c => c.Grant == g)).ToList();

        Assert.True(missing.Count == 0, "calls without a grant: " + string.Join("; ", missing));
        Assert.True(unused.Count == 0, "grants never used: " + string.Join("; ", unused));
    }

    private static RbacGrant Grant(string verb, string path)
    {
        var match = ResourcePath().Match(path);
        Assert.True(match.Success, $"not a resource path: {path}");
        var resource = match.Groups["resource"].Value + (match.Groups["sub"].Success ? "/" + match.Groups["sub"].Value : "");
        return new RbacGrant(match.Groups["group"].Value, resource, verb);
    }

    private static string? NamespaceOf(string path) => ResourcePath().Match(path).Groups["ns"] is { Success: true } ns ? ns.Value : null;

    [GeneratedRegex(@"^/(api/v1|apis/(?<group>[^/]+)/[^/]+)(/namespaces/(?<ns>[^/]+))?/(?<resource>[^/]+)(/[^/]+(/(?<sub>[^/]+))?)?$")]
    private static partial Regex ResourcePath();
}
