using System.Text.Json.Nodes;
using KubeApiFake;
using k8s;
using k8s.Autorest;

namespace UserApiOperator.Bench;

/// <summary>
/// Plays the Deployment controller and kubelet of a healthy cluster: watches Deployments over the
/// API like a controller does and, for each one whose status does not yet describe its current
/// generation, marks every desired Pod updated, ready and available.
/// </summary>
internal sealed class DeploymentControllerSimulator(IKubernetes client, FakeKubeApiServer api)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resourceVersion = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Exception? error = null;
                await foreach (var (type, deployment) in client.AppsV1.WatchListDeploymentForAllNamespacesAsync(
                    resourceVersion: resourceVersion, timeoutSeconds: 300, onError: e => error ??= e, cancellationToken: cancellationToken))
                {
                    resourceVersion = deployment.Metadata.ResourceVersion ?? resourceVersion;
                    if (type is WatchEventType.Added or WatchEventType.Modified
                        && (deployment.Status?.ObservedGeneration != deployment.Metadata.Generation || deployment.Status?.ReadyReplicas != deployment.Spec?.Replicas))
                    {
                        MarkAvailable(deployment.Metadata.NamespaceProperty, deployment.Metadata.Name);
                    }
                }

                if (error is KubernetesException { Status.Code: 410 })
                {
                    resourceVersion = ""; // Expired: start from now (the benchmark never expires history).
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Gone)
            {
                resourceVersion = "";
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
            {
                // The server ended a watch before its first event; KubernetesClient throws for that.
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
