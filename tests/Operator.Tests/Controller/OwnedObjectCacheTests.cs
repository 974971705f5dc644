using System.Text.Json;
using k8s.Models;
using UserApiOperator.Controllers;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Tests.Controller;

/// <summary>What the cache keeps of the objects a UserApi owns: identity, owner, the applied digest, the status a reconcile reads.</summary>
public sealed class OwnedObjectCacheTests
{
    private const string Metadata = """
        "metadata":{"name":"web","namespace":"default","uid":"d-1","resourceVersion":"7","generation":2,
                    "labels":{"app.kubernetes.io/managed-by":"userapi-operator"},
                    "annotations":{"note":"kept out of the cache"},
                    "ownerReferences":[{"apiVersion":"userapi.example.com/v1alpha1","kind":"UserApi","name":"web","uid":"u-1","controller":true,"blockOwnerDeletion":true}],
                    "managedFields":[{"manager":"userapi-operator","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}]}
        """;

    private static JsonElement Json(string body) => JsonDocument.Parse("{" + Metadata + "," + body + "}").RootElement;

    [Fact]
    public void A_Deployment_keeps_its_identity_owner_digest_rollout_counts_and_only_failed_conditions()
    {
        var deployment = OwnedObjectCache.Deployment(Json("""
            "spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"api","image":"userapi:1"}]}}},
            "status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"readyReplicas":2,"availableReplicas":2,
                      "conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"ok"},
                                    {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"too slow"}]}
            """));

        Assert.Equal(("apps/v1", "Deployment", "default", "web", "d-1", "7", 2L), (deployment.ApiVersion, deployment.Kind, deployment.Metadata.NamespaceProperty, deployment.Metadata.Name, deployment.Metadata.Uid, deployment.Metadata.ResourceVersion, deployment.Metadata.Generation));
        var owner = Assert.Single(deployment.Metadata.OwnerReferences);
        Assert.Equal(("UserApi", "web", "u-1", true), (owner.Kind, owner.Name, owner.Uid, owner.Controller));
        Assert.Null(deployment.Spec);
        Assert.Null(deployment.Metadata.Labels);
        Assert.Null(deployment.Metadata.ManagedFields);
        Assert.Null(deployment.Metadata.Annotations);
        Assert.NotNull(SlimObject.AppliedDigest(deployment));
        Assert.Equal((2L, 3, 3, 2), (deployment.Status.ObservedGeneration, deployment.Status.Replicas, deployment.Status.UpdatedReplicas, deployment.Status.ReadyReplicas));
        var failure = Assert.Single(deployment.Status.Conditions);
        Assert.Equal(("Progressing", "False", "ProgressDeadlineExceeded", "too slow"), (failure.Type, failure.Status, failure.Reason, failure.Message));
    }

    [Fact]
    public void A_Secret_keeps_its_key_names_and_never_its_values()
    {
        var secret = OwnedObjectCache.Secret(Json("""
            "type":"Opaque","data":{"MYSQL_PASSWORD":"c2VjcmV0"},"stringData":{"OTHER":"plain"}
            """));

        Assert.Equal("Opaque", secret.Type);
        Assert.Equal(["MYSQL_PASSWORD", "OTHER"], secret.Data.Keys.Order(StringComparer.Ordinal));
        Assert.All(secret.Data.Values, v => Assert.Empty(v));
    }

    [Fact]
    public void An_Ingress_keeps_the_addresses_its_controller_reported()
    {
        var ingress = OwnedObjectCache.Ingress(Json("""
            "spec":{"rules":[{"http":{"paths":[]}}]},"status":{"loadBalancer":{"ingress":[{"ip":"10.0.0.9"},{"hostname":"lb.example"}]}}
            """));

        Assert.Equal(["10.0.0.9", "lb.example"], ingress.Status.LoadBalancer.Ingress.Select(i => i.Ip ?? i.Hostname));
        Assert.Null(ingress.Spec);
    }

    [Fact]
    public void A_field_of_the_wrong_type_where_the_cache_reads_is_an_error_and_elsewhere_is_not()
    {
        Assert.ThrowsAny<InvalidOperationException>(() => OwnedObjectCache.Deployment(Json("""
            "status":{"replicas":"three"}
            """)));
        var service = OwnedObjectCache.MetadataOnly<V1Service>(Json("""
            "spec":{"ports":"eighty"}
            """));
        Assert.Equal("web", service.Metadata.Name);
    }

    [Fact]
    public void A_server_that_records_an_apply_otherwise_is_learnt_once_and_a_later_change_still_shows()
    {
        var records = new AppliedRecords();
        Assert.True(records.IsApplied("V1NetworkPolicy default/web", 1, 1));
        Assert.False(records.IsApplied("V1NetworkPolicy default/web", 1, 11));

        Assert.True(records.Applied("V1NetworkPolicy default/web", 1, 11));
        Assert.False(records.Applied("V1NetworkPolicy default/web", 1, 11));
        Assert.True(records.IsApplied("V1NetworkPolicy default/web", 1, 11));
        Assert.False(records.IsApplied("V1NetworkPolicy default/web", 1, 12)); // edited since
        Assert.False(records.IsApplied("V1NetworkPolicy default/web", 2, 11)); // a new desired state

        records.Forget("default", "web");
        Assert.False(records.IsApplied("V1NetworkPolicy default/web", 1, 11));
    }
}
