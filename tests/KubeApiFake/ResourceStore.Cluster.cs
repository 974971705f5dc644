using System.Net;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The controllers a cluster keeps running next to its API server, as far as Pods need them, run
/// synchronously under the store's lock right after the change that concerns them (like the fake's
/// garbage collection) instead of from informers a moment later:
/// <list type="bullet">
/// <item>the serviceaccounts controller (kube-controller-manager, pkg/controller/serviceaccount/serviceaccounts_controller.go,
/// <c>syncNamespace</c>): a ServiceAccount <c>default</c> in every namespace, created again when deleted;</item>
/// <item>the root-ca-cert-publisher (pkg/controller/certificates/rootcacertpublisher/publisher.go,
/// <c>syncNamespace</c>): a ConfigMap <c>kube-root-ca.crt</c> in every namespace whose <c>ca.crt</c> is
/// the cluster's certificate authority, created again when deleted and put back when edited;</item>
/// <item>kube-apiserver's bootstrap controller (pkg/controlplane/controller/kubernetesservice/controller.go,
/// <c>UpdateKubernetesService</c>, and its endpoints reconciler): the Service <c>default/kubernetes</c>
/// (ClusterIP 10.96.0.1, port 443 named https, target the serving port, no selector) with an Endpoints
/// and an EndpointSlice of the same name holding the advertised address and the serving port;</item>
/// <item>the aggregator's availability controller: the <c>Available</c> condition of every APIService
/// (ResourceStore.ApiServices.cs);</item>
/// <item>the node lifecycle controller's NoSchedule taints of cordoned and unhealthy Nodes (see
/// <c>TaintNodeLocked</c> in ResourceStore.NodeLifecycle.cs).</item>
/// </list>
/// Nothing is re-created in a namespace that no longer exists (a deleted namespace takes its
/// ServiceAccount and ConfigMap with it).
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>Name of the ConfigMap the root-ca-cert-publisher keeps in every namespace.</summary>
    public const string RootCaConfigMapName = "kube-root-ca.crt";

    /// <summary>The ClusterIP of the <c>kubernetes</c> Service: the first address of the service range 10.96.0.0/12.</summary>
    public const string KubernetesServiceIp = "10.96.0.1";

    // pkg/controller/certificates/rootcacertpublisher/publisher.go: DescriptionAnnotation and Description.
    private const string RootCaDescription =
        "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
        "No other usage is guaranteed across distributions of Kubernetes clusters.";

    private ClusterIdentity? _cluster;

    /// <summary>What the cluster controllers publish: the CA (PEM, null without TLS) and where the API server is reached.</summary>
    internal sealed record ClusterIdentity(string? CertificateAuthorityPem, IPAddress AdvertiseAddress, int Port);

    /// <summary>Starts the controllers: from now on every namespace has its objects, and the <c>kubernetes</c> Service exists.</summary>
    internal void StartClusterControllers(ClusterIdentity identity)
    {
        lock (_lock)
        {
            _cluster = identity;
            foreach (var ns in _objects.Values.Where(o => o.Key.Group.Length == 0 && o.Key.Resource == "namespaces").Select(o => o.Key.Name).ToList())
            {
                EnsureNamespaceObjectsLocked(ns);
            }
            EnsureKubernetesServiceLocked();
        }
    }

    /// <summary>Called after every committed change (ADDED, MODIFIED) and every final deletion (DELETED), with the lock held.</summary>
    private void ReactLocked(string type, ResourceKey key)
    {
        if (_cluster is null) return;
        if (key.Group == "apiregistration.k8s.io" && key.Resource == "apiservices" && type != "DELETED")
        {
            SyncApiServicesLocked(a => JsonUtil.MetaString(a, "name") == key.Name);
        }
        else if (key.Group.Length == 0 && key.Resource is "services" or "endpoints")
        {
            SyncApiServicesLocked(a => Uses(a, key.Namespace, key.Name));
        }
        switch (key.Group, key.Resource, type)
        {
            case ("", "namespaces", "ADDED"):
                EnsureNamespaceObjectsLocked(key.Name);
                break;
            case ("", "serviceaccounts", "DELETED") when key.Name == "default":
            case ("", "configmaps", _) when key.Name == RootCaConfigMapName:
                EnsureNamespaceObjectsLocked(key.Namespace);
                break;
            case ("", "nodes", "ADDED" or "MODIFIED"):
                TaintNodeLocked(key.Name);
                break;
            case ("", "services" or "endpoints", "DELETED") or ("discovery.k8s.io", "endpointslices", "DELETED")
                when key.Namespace == "default" && key.Name == "kubernetes":
                EnsureKubernetesServiceLocked();
                break;
        }
    }

    private bool NamespaceExistsLocked(string ns) =>
        _objects.TryGetValue(new ResourceKey("", "namespaces", "", ns), out var so) && so.Object["metadata"]?["deletionTimestamp"] is null;

    private void EnsureNamespaceObjectsLocked(string ns)
    {
        if (_cluster is not { } cluster || !NamespaceExistsLocked(ns)) return;

        var serviceAccounts = FindType("", "v1", "serviceaccounts")!;
        if (Find(serviceAccounts, ns, "default") is null)
        {
            CreateLocked(serviceAccounts, ns, new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = new JsonObject { ["name"] = "default", ["namespace"] = ns },
            }, ControllerWrite("kube-controller-manager"), ownershipDone: false);
        }

        if (cluster.CertificateAuthorityPem is not { } pem) return;
        var configMaps = FindType("", "v1", "configmaps")!;
        var existing = Find(configMaps, ns, RootCaConfigMapName);
        if (existing is null)
        {
            CreateLocked(configMaps, ns, new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject
                {
                    ["name"] = RootCaConfigMapName,
                    ["namespace"] = ns,
                    ["annotations"] = new JsonObject { ["kubernetes.io/description"] = RootCaDescription },
                },
                ["data"] = new JsonObject { ["ca.crt"] = pem },
            }, ControllerWrite("kube-controller-manager"), ownershipDone: false);
            return;
        }

        var data = existing.Object["data"] as JsonObject;
        var matches = data is { Count: 1 } && JsonUtil.Str(data["ca.crt"]) == pem
            && JsonUtil.Str(existing.Object["metadata"]?["annotations"]?["kubernetes.io/description"]) is { Length: > 0 };
        if (matches || existing.Object["metadata"]?["deletionTimestamp"] is not null) return;
        var fixedUp = (JsonObject)existing.Object.DeepClone();
        fixedUp["data"] = new JsonObject { ["ca.crt"] = pem };
        fixedUp.Remove("binaryData");
        var meta = JsonUtil.Metadata(fixedUp);
        if (meta["annotations"] is not JsonObject annotations)
        {
            annotations = new JsonObject();
            meta["annotations"] = annotations;
        }
        annotations["kubernetes.io/description"] = RootCaDescription;
        CommitUpdateLocked(configMaps, existing, fixedUp, ControllerWrite("kube-controller-manager"), statusWrite: false, ownershipDone: false);
    }

    private void EnsureKubernetesServiceLocked()
    {
        if (_cluster is not { } cluster || !NamespaceExistsLocked("default")) return;
        var address = cluster.AdvertiseAddress.ToString();
        var write = ControllerWrite("kube-apiserver");
        var services = FindType("", "v1", "services")!;
        if (Find(services, "default", "kubernetes") is null)
        {
            CreateLocked(services, "default", new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Service",
                ["metadata"] = new JsonObject
                {
                    ["name"] = "kubernetes",
                    ["namespace"] = "default",
                    ["labels"] = new JsonObject { ["component"] = "apiserver", ["provider"] = "kubernetes" },
                },
                ["spec"] = new JsonObject
                {
                    ["type"] = "ClusterIP",
                    ["clusterIP"] = KubernetesServiceIp,
                    ["sessionAffinity"] = "None",
                    ["ports"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "https",
                        ["protocol"] = "TCP",
                        ["port"] = 443,
                        ["targetPort"] = cluster.Port,
                    }),
                },
            }, write, ownershipDone: false);
        }

        if (FindType("", "v1", "endpoints") is { } endpoints && Find(endpoints, "default", "kubernetes") is null)
        {
            // The endpoints adapter marks them so that the EndpointSlice mirroring controller leaves them alone
            // (pkg/controlplane/reconcilers/endpointsadapter.go).
            CreateLocked(endpoints, "default", new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Endpoints",
                ["metadata"] = new JsonObject
                {
                    ["name"] = "kubernetes",
                    ["namespace"] = "default",
                    ["labels"] = new JsonObject { ["endpointslice.kubernetes.io/skip-mirror"] = "true" },
                },
                ["subsets"] = new JsonArray(new JsonObject
                {
                    ["addresses"] = new JsonArray(new JsonObject { ["ip"] = address }),
                    ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = cluster.Port, ["protocol"] = "TCP" }),
                }),
            }, write, ownershipDone: false);
        }

        if (FindType("discovery.k8s.io", "v1", "endpointslices") is { } slices && Find(slices, "default", "kubernetes") is null)
        {
            CreateLocked(slices, "default", new JsonObject
            {
                ["apiVersion"] = "discovery.k8s.io/v1",
                ["kind"] = "EndpointSlice",
                ["metadata"] = new JsonObject
                {
                    ["name"] = "kubernetes",
                    ["namespace"] = "default",
                    ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "kubernetes" },
                },
                ["addressType"] = cluster.AdvertiseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4",
                ["endpoints"] = new JsonArray(new JsonObject
                {
                    ["addresses"] = new JsonArray(address),
                    ["conditions"] = new JsonObject { ["ready"] = true },
                }),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = cluster.Port, ["protocol"] = "TCP" }),
            }, write, ownershipDone: false);
        }
    }

    private static WriteOptions ControllerWrite(string manager) => new() { Raw = true, Manager = manager };
}
