using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The aggregation layer's registry: apiregistration.k8s.io/v1 <c>APIService</c> objects and the
/// availability controller that keeps their <c>Available</c> condition (kube-aggregator,
/// staging/src/k8s.io/kube-aggregator/pkg/controllers/status/available_controller.go, <c>sync</c>),
/// re-run here whenever an APIService, a Service or an Endpoints changes: an APIService without
/// <c>spec.service</c> is Local (always available); otherwise its Service must exist
/// (<c>ServiceNotFound</c>), listen on <c>spec.service.port</c> (<c>ServicePortError</c>), and have
/// Endpoints (<c>EndpointsNotFound</c>) with an address for that port's name
/// (<c>MissingEndpoints</c>); then <c>Passed</c>. The real controller's last check, a GET of the
/// backend's <c>/apis/GROUP/VERSION</c> (<c>FailedDiscoveryCheck</c>), is not made: a backend that
/// does not answer shows when a request is proxied to it (503).
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>The port of <c>spec.service</c> when it gives none (apiregistration v1 <c>SetDefaults_ServiceReference</c>).</summary>
    public const int DefaultApiServicePort = 443;

    /// <summary>
    /// The APIService that serves <paramref name="group"/>/<paramref name="version"/> from a
    /// backend (one with <c>spec.service</c>), or null: <c>{version}.{group}</c>, as the aggregator
    /// names its handlers.
    /// </summary>
    internal JsonObject? AggregatedApiService(string group, string version)
    {
        lock (_lock)
        {
            if (FindType("apiregistration.k8s.io", "v1", "apiservices") is not { } apiServices) return null;
            return Find(apiServices, null, $"{version}.{group}") is { } so && so.Object["spec"]?["service"] is JsonObject
                ? Output(apiServices, so.Object)
                : null;
        }
    }

    /// <summary>Every APIService with a backend, for discovery.</summary>
    internal IReadOnlyList<JsonObject> AggregatedApiServices()
    {
        lock (_lock)
        {
            if (FindType("apiregistration.k8s.io", "v1", "apiservices") is not { } apiServices) return [];
            return Matching(apiServices, null, LabelSelector.Everything, FieldSelector.Everything)
                .Where(so => so.Object["spec"]?["service"] is JsonObject)
                .Select(so => Output(apiServices, so.Object))
                .ToList();
        }
    }

    private void SyncApiServicesLocked(Func<JsonObject, bool> concerned)
    {
        if (FindType("apiregistration.k8s.io", "v1", "apiservices") is not { } apiServices) return;
        foreach (var so in Matching(apiServices, null, LabelSelector.Everything, FieldSelector.Everything).Where(so => concerned(so.Object)).ToList())
        {
            SyncApiServiceLocked(apiServices, so);
        }
    }

    private static bool Uses(JsonObject apiService, string ns, string name) =>
        apiService["spec"]?["service"] is JsonObject service && JsonUtil.Str(service["namespace"]) == ns && JsonUtil.Str(service["name"]) == name;

    private void SyncApiServiceLocked(ResourceType apiServices, StoredObject so)
    {
        if (so.Object["metadata"]?["deletionTimestamp"] is not null) return;
        var (status, reason, message) = Availability(so.Object);
        var conditions = so.Object["status"]?["conditions"] as JsonArray;
        var existing = conditions?.OfType<JsonObject>().FirstOrDefault(c => JsonUtil.Str(c["type"]) == "Available");
        if (existing is not null && JsonUtil.Str(existing["status"]) == status && JsonUtil.Str(existing["reason"]) == reason
            && JsonUtil.Str(existing["message"]) == message)
        {
            return;
        }

        var updated = (JsonObject)so.Object.DeepClone();
        if (updated["status"] is not JsonObject statusObject)
        {
            statusObject = [];
            updated["status"] = statusObject;
        }
        var condition = new JsonObject
        {
            ["type"] = "Available",
            ["status"] = status,
            ["lastTransitionTime"] = existing is not null && JsonUtil.Str(existing["status"]) == status ? existing["lastTransitionTime"]?.DeepClone() : Now(),
            ["reason"] = reason,
            ["message"] = message,
        };
        var list = new JsonArray();
        foreach (var other in conditions?.OfType<JsonObject>().Where(c => JsonUtil.Str(c["type"]) != "Available") ?? []) list.Add(other.DeepClone());
        list.Add(condition);
        statusObject["conditions"] = list;
        CommitUpdateLocked(apiServices, so, updated, ControllerWrite("kube-apiserver"), statusWrite: false, ownershipDone: false);
    }

    private (string Status, string Reason, string Message) Availability(JsonObject apiService)
    {
        if (apiService["spec"]?["service"] is not JsonObject reference) return ("True", "Local", "Local APIServices are always available");
        var ns = JsonUtil.Str(reference["namespace"]) ?? "";
        var name = JsonUtil.Str(reference["name"]) ?? "";
        var port = JsonUtil.TryGetLong(reference["port"]) ?? DefaultApiServicePort;
        if (FindType("", "v1", "services") is not { } services || Find(services, ns, name) is not { } service)
        {
            return ("False", "ServiceNotFound", $"service/{name} in \"{ns}\" is not present");
        }
        if ((JsonUtil.Str(service.Object["spec"]?["type"]) ?? "ClusterIP") != "ClusterIP") return ("True", "Passed", "all checks passed");
        var servicePort = (service.Object["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(p => JsonUtil.TryGetLong(p["port"]) == port);
        if (servicePort is null) return ("False", "ServicePortError", $"service/{name} in \"{ns}\" is not listening on port {port}");
        var portName = JsonUtil.Str(servicePort["name"]) ?? "";
        if (FindType("", "v1", "endpoints") is not { } endpointsType || Find(endpointsType, ns, name) is not { } endpoints)
        {
            return ("False", "EndpointsNotFound", $"cannot find endpoints for service/{name} in \"{ns}\"");
        }
        if (ResolveEndpoint(endpoints.Object, portName) is null)
        {
            return ("False", "MissingEndpoints", $"endpoints for service/{name} in \"{ns}\" have no addresses with port name \"{portName}\"");
        }
        return ("True", "Passed", "all checks passed");
    }

    /// <summary>
    /// The backend of an APIService as kube-apiserver with <c>--enable-aggregator-routing</c>
    /// resolves it (k8s.io/apiserver/pkg/util/proxy/proxy.go, <c>ResolveEndpoint</c>): the Service's
    /// port numbered <c>spec.service.port</c>, then an address of the Endpoints subset that has a
    /// port of the same name, with that port. Throws 503 ServiceUnavailable when there is none.
    /// </summary>
    internal (string Host, long Port) ResolveApiServiceBackend(JsonObject apiService)
    {
        lock (_lock)
        {
            var reference = apiService["spec"]?["service"] as JsonObject;
            var ns = JsonUtil.Str(reference?["namespace"]) ?? "";
            var name = JsonUtil.Str(reference?["name"]) ?? "";
            var port = JsonUtil.TryGetLong(reference?["port"]) ?? DefaultApiServicePort;
            var services = FindType("", "v1", "services")!;
            var service = Find(services, ns, name) ?? throw StatusResponses.NotFound(services, name);
            var servicePort = (service.Object["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(p => JsonUtil.TryGetLong(p["port"]) == port)
                ?? throw new KubeApiException(500, "", $"no service port {port} found for service \"{name}\"");
            var unavailable = new KubeApiException(503, "ServiceUnavailable", $"no endpoints available for service \"{name}\"");
            if (FindType("", "v1", "endpoints") is not { } endpointsType || Find(endpointsType, ns, name) is not { } endpoints) throw unavailable;
            return ResolveEndpoint(endpoints.Object, JsonUtil.Str(servicePort["name"]) ?? "") ?? throw unavailable;
        }
    }

    /// <summary>The first subset's port named <paramref name="portName"/> that has addresses, with its first address (the real resolver picks one at random).</summary>
    private static (string Host, long Port)? ResolveEndpoint(JsonObject endpoints, string portName)
    {
        foreach (var subset in (endpoints["subsets"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var address = (subset["addresses"] as JsonArray)?.OfType<JsonObject>().Select(a => JsonUtil.Str(a["ip"])).FirstOrDefault(ip => !string.IsNullOrEmpty(ip));
            if (address is null) continue;
            var port = (subset["ports"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(p => (JsonUtil.Str(p["name"]) ?? "") == portName);
            if (port is not null && JsonUtil.TryGetLong(port["port"]) is { } number) return (address, number);
        }
        return null;
    }
}
