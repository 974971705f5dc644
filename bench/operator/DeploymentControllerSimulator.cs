using System.Text.Json.Nodes;
using KubeApiFake;
using k8s;

namespace UserApiOperator.Bench;

/// <summary>
/// Plays the Deployment controller and kubelet of a healthy cluster: watches Deployments over the
/// API like a controller does and, for each one whose status does not yet describe its current
/// generation, marks every desired Pod updated, ready and available.
/// </summary>
internal sealed class DeploymentControllerSimulator(IKubernetes client, FakeKubeApiServer api)
{
    public Task RunAsync(CancellationToken cancellationToken) => WatchLoop.RunAsync(
        (resourceVersion, onError, token) => client.AppsV1.WatchListDeploymentForAllNamespacesAsync(
            resourceVersion: resourceVersion, timeoutSeconds: 300, onError: onError, cancellationToken: token),
        (type, deployment) =>
        {
            if (type is WatchEventType.Added or WatchEventType.Modified
                && (deployment.Status?.ObservedGeneration != deployment.Metadata.Generation || deployment.Status?.ReadyReplicas != deployment.Spec?.Replicas))
            {
                MarkAvailable(deployment.Metadata.NamespaceProperty, deployment.Metadata.Name);
            }

            return deployment.Metadata.ResourceVersion;
        },
        cancellationToken);

    private void MarkAvailable(string ns, string name) =>
        api.Store.UpdateStatus(KnownResources.Deployments, ns, name, d =>
        {
            var replicas = int.Parse(d["spec"]!["replicas"]!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            d["status"] = new JsonObject
            {
                ["observedGeneration"] = JsonNode.Parse(d["metadata"]!["generation"]!.ToJsonString()),
                ["replicas"] = replicas,
                ["updatedReplicas"] = replicas,
                ["readyReplicas"] = replicas,
                ["availableReplicas"] = replicas,
            };
        });
}
