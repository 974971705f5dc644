using System.Text.Json;
using k8s;
using k8s.Models;
using UserApiOperator.DesiredState;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Controllers;

/// <summary>
/// What the cache keeps of each kind a UserApi owns: a <see cref="SlimObject"/> (identity, owner
/// references, the digest of what <c>userapi-operator</c> applied) plus the few fields a reconcile
/// reads: the Deployment's rollout counts and failure conditions and the Ingress's load-balancer
/// addresses (<see cref="UserApiStatusBuilder"/>), the Secret's type and key names (never its values).
/// Whether an apply would change a child is decided from the digest (see
/// <see cref="Runtime.Client.AppliedConfiguration"/>), so no spec is kept: a cached Deployment costs a
/// few hundred bytes instead of its whole pod template.
/// </summary>
public static class OwnedObjectCache
{
    /// <summary>The slim Deployment: the status fields the UserApi's status is computed from.</summary>
    public static V1Deployment Deployment(JsonElement json) => SlimObject.Decode<V1Deployment>(json, UserApiLabels.ManagedBy, static (json, deployment) =>
    {
        if (SlimObject.Member(json, "status") is not { } status)
        {
            return;
        }

        deployment.Status = new V1DeploymentStatus
        {
            ObservedGeneration = SlimObject.Long(status, "observedGeneration"),
            Replicas = SlimObject.Int(status, "replicas"),
            UpdatedReplicas = SlimObject.Int(status, "updatedReplicas"),
            ReadyReplicas = SlimObject.Int(status, "readyReplicas"),
            AvailableReplicas = SlimObject.Int(status, "availableReplicas"),
            Conditions = FailureConditions(status),
        };
    });

    /// <summary>The slim Ingress: the addresses its controller reported, from which the UserApi's URL comes.</summary>
    public static V1Ingress Ingress(JsonElement json) => SlimObject.Decode<V1Ingress>(json, UserApiLabels.ManagedBy, static (json, ingress) =>
    {
        if (SlimObject.Member(json, "status") is not { } status
            || SlimObject.Member(status, "loadBalancer") is not { } loadBalancer
            || SlimObject.Member(loadBalancer, "ingress") is not { } addresses)
        {
            return;
        }

        var list = new List<V1IngressLoadBalancerIngress>(addresses.GetArrayLength());
        foreach (var address in addresses.EnumerateArray())
        {
            list.Add(new V1IngressLoadBalancerIngress { Ip = SlimObject.String(address, "ip"), Hostname = SlimObject.String(address, "hostname") });
        }

        ingress.Status = new V1IngressStatus { LoadBalancer = new V1IngressLoadBalancerStatus { Ingress = list } };
    });

    /// <summary>
    /// The slim Secret: its type and the names of its keys with empty values, so a reconcile can tell
    /// that the password key exists; the values (the password) are never read.
    /// </summary>
    public static V1Secret Secret(JsonElement json) => SlimObject.Decode<V1Secret>(json, UserApiLabels.ManagedBy, static (json, secret) =>
    {
        secret.Type = SlimObject.String(json, "type") is { } type ? Transforms.Strings.Share(type) : null;
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var field in new[] { "data", "stringData" })
        {
            if (SlimObject.Member(json, field) is { } data)
            {
                foreach (var key in data.EnumerateObject())
                {
                    keys[Transforms.Strings.Share(key.Name)] = [];
                }
            }
        }

        secret.Data = keys.Count == 0 ? null : keys;
    });

    /// <summary>The slim copy of a kind whose status no reconcile reads (Service, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy).</summary>
    public static T MetadataOnly<T>(JsonElement json)
        where T : class, IKubernetesObject<V1ObjectMeta>, new() => SlimObject.Decode<T>(json, UserApiLabels.ManagedBy);

    /// <summary>The decoder of <typeparamref name="T"/>, one of the kinds a UserApi owns.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a kind a UserApi owns.</exception>
    public static Func<JsonElement, T> Decoder<T>()
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        Decoders.TryGetValue(typeof(T), out var decoder) ? (Func<JsonElement, T>)decoder : throw new NotSupportedException($"A UserApi owns no {typeof(T).Name}.");

    private static readonly Dictionary<Type, Delegate> Decoders = new()
    {
        [typeof(V1Secret)] = (Func<JsonElement, V1Secret>)Secret,
        [typeof(V1Deployment)] = (Func<JsonElement, V1Deployment>)Deployment,
        [typeof(V1Service)] = (Func<JsonElement, V1Service>)MetadataOnly<V1Service>,
        [typeof(V1Ingress)] = (Func<JsonElement, V1Ingress>)Ingress,
        [typeof(V2HorizontalPodAutoscaler)] = (Func<JsonElement, V2HorizontalPodAutoscaler>)MetadataOnly<V2HorizontalPodAutoscaler>,
        [typeof(V1PodDisruptionBudget)] = (Func<JsonElement, V1PodDisruptionBudget>)MetadataOnly<V1PodDisruptionBudget>,
        [typeof(V1NetworkPolicy)] = (Func<JsonElement, V1NetworkPolicy>)MetadataOnly<V1NetworkPolicy>,
    };

    /// <summary>
    /// The slim copy of an object this process holds decoded (the answer to a typed write), read as the
    /// watch would deliver it, so the cache never holds more than it keeps of watched objects.
    /// </summary>
    public static T FromTyped<T>(T written, Func<JsonElement, T> decode)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(decode);
        using var document = JsonDocument.Parse(KubernetesJson.Serialize(written));
        return decode(document.RootElement);
    }

    /// <summary>The Deployment conditions that mean a failed rollout (what <see cref="UserApiStatusBuilder"/> reports); the others are not kept.</summary>
    private static List<V1DeploymentCondition>? FailureConditions(JsonElement status)
    {
        if (SlimObject.Member(status, "conditions") is not { } conditions)
        {
            return null;
        }

        List<V1DeploymentCondition>? failures = null;
        foreach (var condition in conditions.EnumerateArray())
        {
            var (type, value, reason) = (SlimObject.String(condition, "type"), SlimObject.String(condition, "status"), SlimObject.String(condition, "reason"));
            if (UserApiStatusBuilder.IsRolloutFailure(type, value, reason))
            {
                (failures ??= []).Add(new V1DeploymentCondition { Type = type, Status = value, Reason = reason, Message = SlimObject.String(condition, "message") });
            }
        }

        return failures;
    }
}
