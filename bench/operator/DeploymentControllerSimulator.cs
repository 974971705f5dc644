using System.Text.Json.Nodes;
using KubeApiFake;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Models;

namespace UserApiOperator.Bench;

/// <summary>
/// Plays the Deployment controller and kubelet of a healthy cluster: watches Deployments over the
/// API like a controller does and, for each one whose status does not yet describe its current
/// generation, marks every desired Pod updated, ready and available.
/// </summary>
internal sealed class DeploymentControllerSimulator(IKubernetesClient client, FakeKubeApiServer api)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resourceVersion = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in client.WatchAsync<V1Deployment>(null, null, resourceVersion, cancellationToken, timeoutSeconds: 300))
                {
                    resourceVersion = e.Object.Metadata.ResourceVersion ?? resourceVersion;
                    if (e.Type is WatchEventType.Added or WatchEventType.Modified
                        && (e.Object.Status?.ObservedGeneration != e.Object.Metadata.Generation || e.Object.Status?.ReadyReplicas != e.Object.Spec?.Replicas))
                    {
                        MarkAvailable(e.Object.Metadata.Namespace!, e.Object.Metadata.Name!);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (KubernetesGoneException)
            {
                resourceVersion = "";
            }
        }
    }

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
