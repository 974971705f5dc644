using System.Text.Json.Serialization;

namespace UserApiOperator.Entities;

/// <summary>
/// The networking.k8s.io/v1 NetworkPolicy of a UserApi: its Pods admit incoming traffic only on the
/// API container's http port, so each Pod's MySQL port is closed to the rest of the cluster.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class NetworkPolicySpec
{
    /// <summary>Whether to have a NetworkPolicy NAME; false (for clusters that manage policy otherwise) deletes an existing one.</summary>
    public bool Enabled { get; set; } = true;
}
