using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// meta.k8s.io <c>Table</c> responses, what <c>kubectl get</c> prints. Custom resources get their
/// CRD's <c>additionalPrinterColumns</c> (the apiextensions table convertor:
/// staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor); built-in
/// kinds get the columns and cells of pkg/printers/internalversion/printers.go (pods, deployments,
/// services, ingresses, secrets, configmaps, namespaces, endpoints, endpointslices, events, leases,
/// horizontalpodautoscalers, poddisruptionbudgets, networkpolicies);
/// anything else the default convertor's Name and Created At.
/// </summary>
internal static class Tables
{
    private const string NameDescription = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
    private const string AgeDescription = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.";
    private const string None = "<none>";

    private sealed record Column(string Name, string Type, string Description, int Priority = 0, string Format = "");

    private sealed record Printer(Column[] Columns, Func<JsonObject, DateTimeOffset, JsonNode?[]> Cells);

    private static readonly Column NameColumn = new("Name", "string", NameDescription, Format: "name");
    private static readonly Column AgeColumn = new("Age", "string", AgeDescription);

    /// <summary>The Table version the <c>Accept</c> header asks for (<c>v1</c> or <c>v1beta1</c>, first wins), or null.</summary>
    public static string? RequestedVersion(string accept)
    {
        foreach (var range in accept.Split(','))
        {
            var parts = range.Split(';').Select(p => p.Trim()).ToList();
            string? As = null, g = null, v = null;
            foreach (var parameter in parts.Skip(1))
            {
                var eq = parameter.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0) continue;
                var value = parameter[(eq + 1)..].Trim();
                switch (parameter[..eq].Trim())
                {
                    case "as": As = value; break;
                    case "g": g = value; break;
                    case "v": v = value; break;
                }
            }
            if (parts[0] is "application/json" or "*/*" && As == "Table" && g == "meta.k8s.io" && v is "v1" or "v1beta1") return v;
        }
        return null;
    }

    /// <summary>Converts a list (or one object) of <paramref name="rt"/> into a Table.</summary>
    /// <param name="rt">The resource type the objects belong to.</param>
    /// <param name="listOrObject">A <c>*List</c> body (with <c>items</c>) or a single object.</param>
    /// <param name="version">Table apiVersion suffix, <c>v1</c> or <c>v1beta1</c>.</param>
    /// <param name="includeObject"><c>None</c>, <c>Metadata</c> (default: PartialObjectMetadata) or <c>Object</c>.</param>
    /// <param name="now">Clock for the Age cells.</param>
    public static JsonObject Convert(ResourceType rt, JsonObject listOrObject, string version, string includeObject, DateTimeOffset now)
    {
        var printer = PrinterFor(rt);
        var items = listOrObject["items"] is JsonArray list ? list.OfType<JsonObject>().ToList() : [listOrObject];
        var rows = new JsonArray();
        foreach (var item in items)
        {
            var row = new JsonObject { ["cells"] = new JsonArray(printer.Cells(item, now).Select(c => c?.DeepClone()).ToArray()) };
            switch (includeObject)
            {
                case "Object":
                    var full = (JsonObject)item.DeepClone();
                    full["kind"] ??= rt.Kind;
                    full["apiVersion"] ??= rt.ApiVersion;
                    row["object"] = full;
                    break;
                case "None":
                    break;
                default:
                    row["object"] = new JsonObject
                    {
                        ["kind"] = "PartialObjectMetadata",
                        ["apiVersion"] = $"meta.k8s.io/{version}",
                        ["metadata"] = item["metadata"]?.DeepClone() ?? new JsonObject(),
                    };
                    break;
            }
            rows.Add(row);
        }
        // A list's resourceVersion/continue, or the one object's resourceVersion (meta.CommonAccessor).
        var metadata = new JsonObject();
        var sourceMeta = listOrObject["metadata"] as JsonObject;
        foreach (var field in new[] { "resourceVersion", "continue", "remainingItemCount" })
        {
            if (sourceMeta?[field] is { } value) metadata[field] = value.DeepClone();
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = $"meta.k8s.io/{version}",
            ["metadata"] = metadata,
            ["columnDefinitions"] = new JsonArray(printer.Columns.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["type"] = c.Type,
                ["format"] = c.Format,
                ["description"] = c.Description,
                ["priority"] = c.Priority,
            }).ToArray()),
            ["rows"] = rows,
        };
    }

    private static Printer PrinterFor(ResourceType rt)
    {
        if (rt.IsCustomResource) return CustomResourcePrinter(rt.PrinterColumns);
        return (rt.Group, rt.Plural) switch
        {
            ("", "pods") => Pods,
            ("", "nodes") => Nodes,
            ("apps", "deployments") => Deployments,
            ("", "services") => Services,
            ("networking.k8s.io", "ingresses") => Ingresses,
            ("autoscaling", "horizontalpodautoscalers") => HorizontalPodAutoscalers,
            ("policy", "poddisruptionbudgets") => new Printer(
                [NameColumn, new("Min Available", "string", "The minimum number of pods that must be available."),
                 new("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
                 new("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."), AgeColumn],
                (o, now) => [Name(o), IntOrString(o["spec"]?["minAvailable"]) ?? "N/A", IntOrString(o["spec"]?["maxUnavailable"]) ?? "N/A",
                    JsonUtil.TryGetLong(o["status"]?["disruptionsAllowed"]) ?? 0, Age(o, now)]),
            ("networking.k8s.io", "networkpolicies") => new Printer(
                [NameColumn, new("Pod-Selector", "string", "Pods selected by this NetworkPolicy (a label selector)."), AgeColumn],
                (o, now) => [Name(o), o["spec"]?["podSelector"] is JsonObject selector && LabelSelector.FromObject(selector).ToString() is { Length: > 0 } text ? text : None, Age(o, now)]),
            ("", "secrets") => new Printer(
                [NameColumn, new("Type", "string", "Used to facilitate programmatic handling of secret data."), new("Data", "string", "Data contains the secret data."), AgeColumn],
                (o, now) => [Name(o), Str(o["type"]), (o["data"] as JsonObject)?.Count ?? 0, Age(o, now)]),
            ("", "configmaps") => new Printer(
                [NameColumn, new("Data", "string", "Data contains the configuration data."), AgeColumn],
                (o, now) => [Name(o), ((o["data"] as JsonObject)?.Count ?? 0) + ((o["binaryData"] as JsonObject)?.Count ?? 0), Age(o, now)]),
            ("", "namespaces") => new Printer(
                [NameColumn, new("Status", "string", "The status of the namespace"), AgeColumn],
                (o, now) => [Name(o), Str(o["status"]?["phase"]), Age(o, now)]),
            ("", "endpoints") => new Printer(
                [NameColumn, new("Endpoints", "string", "The set of all endpoints is the union of all subsets."), AgeColumn],
                (o, now) => [Name(o), EndpointsCell(o), Age(o, now)]),
            ("discovery.k8s.io", "endpointslices") => new Printer(
                [NameColumn, new("AddressType", "string", "Type of address carried by this EndpointSlice."),
                 new("Ports", "string", "Ports advertised by this EndpointSlice."), new("Endpoints", "string", "Endpoints in this EndpointSlice."), AgeColumn],
                (o, now) => [Name(o), Str(o["addressType"]), SlicePorts(o), SliceEndpoints(o), Age(o, now)]),
            ("", "events") => Events,
            ("apiregistration.k8s.io", "apiservices") => ApiServices,
            ("coordination.k8s.io", "leases") => new Printer(
                [NameColumn, new("Holder", "string", "The holder of the lease"), AgeColumn],
                (o, now) => [Name(o), Str(o["spec"]?["holderIdentity"]) ?? "", Age(o, now)]),
            _ => new Printer(
                [NameColumn, new("Created At", "date", AgeDescription)],
                (o, _) => [Name(o), Str(o["metadata"]?["creationTimestamp"])]),
        };
    }

    /// <summary>The CRD's columns; a CRD without any gets Age, as the apiextensions server adds.</summary>
    private static Printer CustomResourcePrinter(JsonArray? crdColumns)
    {
        var defined = crdColumns?.OfType<JsonObject>().ToList() is { Count: > 0 } list
            ? list
            : [new JsonObject { ["name"] = "Age", ["type"] = "date", ["jsonPath"] = ".metadata.creationTimestamp" }];
        var columns = new List<Column> { NameColumn };
        foreach (var c in defined)
        {
            var path = Str(c["jsonPath"]) ?? "";
            columns.Add(new Column(Str(c["name"]) ?? "", Str(c["type"]) ?? "string",
                Str(c["description"]) ?? $"Custom resource definition column (in JSONPath format): {path}",
                (int)(JsonUtil.TryGetLong(c["priority"]) ?? 0), Str(c["format"]) ?? ""));
        }
        return new Printer([.. columns], (o, now) =>
        {
            var cells = new List<JsonNode?> { Name(o) };
            foreach (var c in defined)
            {
                JsonNode? value;
                try
                {
                    value = SimpleJsonPath.First(o, Str(c["jsonPath"]) ?? "");
                }
                catch (FormatException)
                {
                    value = null;
                }
                cells.Add(CrdCell(Str(c["type"]) ?? "string", value, now));
            }
            return [.. cells];
        });
    }

    private static JsonNode? CrdCell(string type, JsonNode? value, DateTimeOffset now)
    {
        if (value is null) return null;
        switch (type)
        {
            case "string":
                return value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value.ToJsonString();
            case "integer":
                return JsonUtil.TryGetNumber(value, out var i) ? (long)decimal.Truncate(i) : null;
            case "number":
                return JsonUtil.TryGetNumber(value, out var d) ? (double)d : null;
            case "boolean":
                return value is JsonValue b && b.TryGetValue<bool>(out var flag) ? flag : null;
            case "date":
                return Str(value) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                    ? HumanDuration(now - t)
                    : "<invalid>";
            default:
                return null;
        }
    }

    private static readonly Printer Pods = new(
        [
            NameColumn,
            new("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            new("Status", "string", "The aggregate status of the containers in this pod."),
            new("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            AgeColumn,
            new("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
            new("Node", "string", "NodeName is a request to schedule this pod onto a specific node.", 1),
            new("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
            new("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
        ],
        PodCells);

    /// <summary>printPod of printers.go: READY ready/total, STATUS from phase, reason and container states, RESTARTS with the last restart.</summary>
    private static JsonNode?[] PodCells(JsonObject pod, DateTimeOffset now)
    {
        var spec = pod["spec"] as JsonObject;
        var status = pod["status"] as JsonObject;
        var total = (spec?["containers"] as JsonArray)?.Count ?? 0;
        var reason = Str(status?["reason"]) is { Length: > 0 } r ? r : Str(status?["phase"]) ?? "";
        var statuses = (status?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var restarts = 0L;
        DateTimeOffset? lastRestart = null;
        var ready = 0;
        var hasRunning = false;
        foreach (var cs in statuses.AsEnumerable().Reverse())
        {
            restarts += JsonUtil.TryGetLong(cs["restartCount"]) ?? 0;
            if (Time(cs["lastState"]?["terminated"]?["finishedAt"]) is { } finished && (lastRestart is null || finished > lastRestart)) lastRestart = finished;
            var state = cs["state"] as JsonObject;
            if (Str(state?["waiting"]?["reason"]) is { Length: > 0 } waiting)
            {
                reason = waiting;
            }
            else if (state?["terminated"] is JsonObject terminated)
            {
                reason = Str(terminated["reason"]) is { Length: > 0 } tr
                    ? tr
                    : JsonUtil.TryGetLong(terminated["signal"]) is { } signal and not 0
                        ? $"Signal:{signal}"
                        : $"ExitCode:{JsonUtil.TryGetLong(terminated["exitCode"]) ?? 0}";
            }
            else if (state?["running"] is not null && JsonUtil.IsTrue(cs["ready"]))
            {
                hasRunning = true;
                ready++;
            }
        }
        if (reason == "Completed" && hasRunning) reason = "Running";
        if (pod["metadata"]?["deletionTimestamp"] is not null) reason = Str(status?["reason"]) == "NodeLost" ? "Unknown" : "Terminating";
        JsonNode restartCell = lastRestart is { } last ? $"{restarts} ({HumanDuration(now - last)} ago)" : restarts;
        var gates = (spec?["readinessGates"] as JsonArray)?.Count ?? 0;
        return
        [
            Name(pod), $"{ready}/{total}", reason, restartCell, Age(pod, now),
            Str(status?["podIP"]) is { Length: > 0 } ip ? ip : None,
            Str(spec?["nodeName"]) is { Length: > 0 } node ? node : None,
            Str(status?["nominatedNodeName"]) is { Length: > 0 } nominated ? nominated : None,
            gates == 0 ? None : $"{gates}",
        ];
    }

    private static readonly Printer Nodes = new(
        [
            NameColumn,
            new("Status", "string", "The status of the node"),
            new("Roles", "string", "The roles of the node"),
            AgeColumn,
            new("Version", "string", "Kubelet Version reported by the node."),
            new("Internal-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).", 1),
            new("External-IP", "string", "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).", 1),
            new("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
            new("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
            new("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
        ],
        NodeCells);

    /// <summary>
    /// printNode of printers.go: STATUS from the Ready condition (Ready, NotReady, or Unknown without
    /// one; ",SchedulingDisabled" when cordoned), ROLES from the <c>node-role.kubernetes.io/&lt;role&gt;</c>
    /// and <c>kubernetes.io/role</c> labels, VERSION the kubelet's; wide: the first InternalIP and
    /// ExternalIP, OS image, kernel and container runtime.
    /// </summary>
    private static JsonNode?[] NodeCells(JsonObject node, DateTimeOffset now)
    {
        var status = node["status"] as JsonObject;
        var ready = (status?["conditions"] as JsonArray)?.OfType<JsonObject>().LastOrDefault(c => Str(c["type"]) == "Ready");
        var states = new List<string> { ready is null ? "Unknown" : Str(ready["status"]) == "True" ? "Ready" : "NotReady" };
        if (JsonUtil.IsTrue(node["spec"]?["unschedulable"])) states.Add("SchedulingDisabled");
        var roles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in JsonUtil.Labels(node))
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value.Length > 0)
            {
                roles.Add(value);
            }
        }
        string Address(string type) =>
            (status?["addresses"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(a => Str(a["type"]) == type) is { } address
                ? Str(address["address"]) ?? None
                : None;
        string Info(string field) => Str(status?["nodeInfo"]?[field]) is { Length: > 0 } value ? value : "<unknown>";
        return
        [
            Name(node), string.Join(",", states), roles.Count == 0 ? None : string.Join(",", roles), Age(node, now),
            Str(status?["nodeInfo"]?["kubeletVersion"]) ?? "",
            Address("InternalIP"), Address("ExternalIP"), Info("osImage"), Info("kernelVersion"), Info("containerRuntimeVersion"),
        ];
    }

    private static readonly Printer Deployments = new(
        [
            NameColumn,
            new("Ready", "string", "Number of the pod with ready state"),
            new("Up-to-date", "string", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            new("Available", "string", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
            AgeColumn,
            new("Containers", "string", "Names of each container in the template.", 1),
            new("Images", "string", "Images referenced by each container in the template.", 1),
            new("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1),
        ],
        (d, now) =>
        {
            var containers = (d["spec"]?["template"]?["spec"]?["containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            var desired = JsonUtil.TryGetLong(d["spec"]?["replicas"]) ?? 0;
            return
            [
                Name(d),
                $"{JsonUtil.TryGetLong(d["status"]?["readyReplicas"]) ?? 0}/{desired}",
                JsonUtil.TryGetLong(d["status"]?["updatedReplicas"]) ?? 0,
                JsonUtil.TryGetLong(d["status"]?["availableReplicas"]) ?? 0,
                Age(d, now),
                string.Join(",", containers.Select(c => Str(c["name"]))),
                string.Join(",", containers.Select(c => Str(c["image"]))),
                d["spec"]?["selector"] is JsonObject selector ? LabelSelector.FromObject(selector).ToString() : None,
            ];
        });

    private static readonly Printer Services = new(
        [
            NameColumn,
            new("Type", "string", "type determines how the Service is exposed."),
            new("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
            new("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
            new("Port(s)", "string", "The list of ports that are exposed by this service."),
            AgeColumn,
            new("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1),
        ],
        (s, now) =>
        {
            var spec = s["spec"] as JsonObject;
            var type = Str(spec?["type"]) ?? "ClusterIP";
            var externalIps = (spec?["externalIPs"] as JsonArray)?.Select(Str).OfType<string>().ToList() ?? [];
            var lbIngress = (s["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>()
                .Select(i => Str(i["ip"]) ?? Str(i["hostname"])).OfType<string>().ToList() ?? [];
            var external = type switch
            {
                "ExternalName" => Str(spec?["externalName"]) ?? None,
                "LoadBalancer" => lbIngress.Count + externalIps.Count > 0 ? string.Join(",", lbIngress.Concat(externalIps)) : "<pending>",
                _ => externalIps.Count > 0 ? string.Join(",", externalIps) : None,
            };
            var ports = (spec?["ports"] as JsonArray)?.OfType<JsonObject>()
                .Select(p => JsonUtil.TryGetLong(p["nodePort"]) is { } np and > 0
                    ? $"{JsonUtil.TryGetLong(p["port"])}:{np}/{Str(p["protocol"]) ?? "TCP"}"
                    : $"{JsonUtil.TryGetLong(p["port"])}/{Str(p["protocol"]) ?? "TCP"}").ToList() ?? [];
            var selector = (spec?["selector"] as JsonObject)?.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Str(kv.Value)}").ToList() ?? [];
            return
            [
                Name(s), type, Str(spec?["clusterIP"]) is { Length: > 0 } ip ? ip : None, external,
                ports.Count > 0 ? string.Join(",", ports) : None, Age(s, now),
                selector.Count > 0 ? string.Join(",", selector) : None,
            ];
        });

    private static readonly Printer Ingresses = new(
        [
            NameColumn,
            new("Class", "string", "The name of the IngressClass resource that should be used for ingress"),
            new("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
            new("Address", "string", "Address is a list containing ingress points for the load-balancer"),
            new("Ports", "string", "Ports of TLS configurations that open"),
            AgeColumn,
        ],
        (i, now) =>
        {
            var spec = i["spec"] as JsonObject;
            var hosts = (spec?["rules"] as JsonArray)?.OfType<JsonObject>().Select(r => Str(r["host"])).Where(h => !string.IsNullOrEmpty(h)).ToList() ?? [];
            var hostText = hosts.Count == 0 ? "*" : hosts.Count > 3 ? $"{string.Join(",", hosts.Take(3))} + {hosts.Count - 3} more..." : string.Join(",", hosts);
            var addresses = (i["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>()
                .Select(a => Str(a["ip"]) ?? Str(a["hostname"])).OfType<string>().ToList() ?? [];
            var tls = spec?["tls"] is JsonArray { Count: > 0 };
            return
            [
                Name(i), Str(spec?["ingressClassName"]) ?? None, hostText, string.Join(",", addresses),
                tls ? "80, 443" : "80", Age(i, now),
            ];
        });

    /// <summary>
    /// printHorizontalPodAutoscaler (pkg/printers/internalversion/printers.go): Reference
    /// <c>Kind/name</c>; Targets as <c>formatHPAMetrics</c> writes them, each metric beside the
    /// current value of the same index in <c>status.currentMetrics</c> (Resource and ContainerResource
    /// <c>cpu: 12%/50%</c> or <c>memory: 100Mi/200Mi</c>, Pods <c>current/target</c>, Object and
    /// External <c>current/target</c> or <c>current/target (avg)</c>, <c>&lt;unknown&gt;</c> before
    /// the controller reports, <c>&lt;auto&gt;</c> for a utilization target without a value, at most
    /// two then <c>+ N more...</c>, <c>&lt;none&gt;</c> without metrics); MinPods (<c>&lt;unset&gt;</c>),
    /// MaxPods and the current replicas as integers.
    /// </summary>
    private static readonly Printer HorizontalPodAutoscalers = new(
        [
            NameColumn,
            new("Reference", "string", "The reference to the autoscaled resource."),
            new("Targets", "string", "The current and target metrics."),
            new("MinPods", "string", "The minimum number of replicas."),
            new("MaxPods", "integer", "The maximum number of replicas."),
            new("Replicas", "integer", "The current number of replicas."),
            AgeColumn,
        ],
        (h, now) =>
        {
            var spec = h["spec"] as JsonObject;
            var reference = spec?["scaleTargetRef"];
            return
            [
                Name(h), $"{Str(reference?["kind"])}/{Str(reference?["name"])}",
                HpaTargets(spec?["metrics"] as JsonArray, h["status"]?["currentMetrics"] as JsonArray),
                JsonUtil.TryGetLong(spec?["minReplicas"])?.ToString(CultureInfo.InvariantCulture) ?? "<unset>",
                JsonUtil.TryGetLong(spec?["maxReplicas"]) ?? 0,
                JsonUtil.TryGetLong(h["status"]?["currentReplicas"]) ?? 0,
                Age(h, now),
            ];
        });

    /// <summary><c>formatHPAMetrics</c>.</summary>
    private static string HpaTargets(JsonArray? specs, JsonArray? statuses)
    {
        if (specs is not { Count: > 0 }) return None;
        var list = new List<string>();
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i] as JsonObject;
            var status = statuses is not null && statuses.Count > i ? statuses[i] as JsonObject : null;
            const string Unknown = "<unknown>";
            switch (Str(spec?["type"]))
            {
                case "External" or "Object":
                {
                    var field = Str(spec?["type"]) == "External" ? "external" : "object";
                    var target = spec?[field]?["target"];
                    var current = status?[field]?["current"];
                    list.Add(target?["averageValue"] is { } average
                        ? $"{(current?["averageValue"] is { } c ? Quantity(c) : Unknown)}/{Quantity(average)} (avg)"
                        : $"{(status?[field] is not null ? Quantity(current?["value"]) : Unknown)}/{Quantity(target?["value"])}");
                    break;
                }
                case "Pods":
                    list.Add($"{(status?["pods"] is not null ? Quantity(status["pods"]?["current"]?["averageValue"]) : Unknown)}/{Quantity(spec?["pods"]?["target"]?["averageValue"])}");
                    break;
                case "Resource" or "ContainerResource":
                {
                    var field = Str(spec?["type"]) == "Resource" ? "resource" : "containerResource";
                    var source = spec?[field];
                    var current = status?[field];
                    if (source?["target"]?["averageValue"] is { } average)
                    {
                        list.Add($"{Str(source["name"])}: {(current is not null ? Quantity(current["current"]?["averageValue"]) : Unknown)}/{Quantity(average)}");
                    }
                    else
                    {
                        var observed = JsonUtil.TryGetLong(current?["current"]?["averageUtilization"]) is { } u ? $"{u}%" : Unknown;
                        var goal = JsonUtil.TryGetLong(source?["target"]?["averageUtilization"]) is { } g ? $"{g}%" : "<auto>";
                        list.Add($"{Str(source?["name"])}: {observed}/{goal}");
                    }
                    break;
                }
                default:
                    list.Add("<unknown type>");
                    break;
            }
        }
        const int Maximum = 2;
        return list.Count > Maximum
            ? $"{string.Join(", ", list.Take(Maximum))} + {list.Count - Maximum} more..."
            : string.Join(", ", list);
    }

    /// <summary>
    /// A <c>*resource.Quantity</c>'s String(): <c>&lt;nil&gt;</c> when absent, else the value as stored
    /// (the fake keeps the text it was given where Go prints the canonical form).
    /// </summary>
    private static string Quantity(JsonNode? value) => value is null ? "<nil>" : Str(value) ?? JsonUtil.ToText(value);

    /// <summary>
    /// kube-aggregator's table of APIServices (pkg/registry/apiservice/rest/storage_apiservice.go,
    /// <c>ConvertToTable</c>): Service <c>NAMESPACE/NAME</c> or <c>Local</c>; Available the
    /// condition's status, with its reason in parentheses unless True, <c>Unknown</c> without one.
    /// </summary>
    private static readonly Printer ApiServices = new(
        [
            NameColumn,
            new("Service", "string", "The reference to the service that hosts this API endpoint."),
            new("Available", "string", "Whether this service is available."),
            AgeColumn,
        ],
        (o, now) =>
        {
            var service = o["spec"]?["service"] is JsonObject reference ? $"{Str(reference["namespace"])}/{Str(reference["name"])}" : "Local";
            var available = "Unknown";
            if ((o["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => Str(c["type"]) == "Available") is { } condition)
            {
                var status = Str(condition["status"]) ?? "";
                available = status != "True" && Str(condition["reason"]) is { Length: > 0 } reason ? $"{status} ({reason})" : status;
            }
            return [Name(o), service, available, Age(o, now)];
        });

    private static string? IntOrString(JsonNode? value) =>
        value is null ? null : JsonUtil.TryGetLong(value)?.ToString(CultureInfo.InvariantCulture) ?? Str(value);

    private static readonly Printer Events = new(
        [
            new("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
            new("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future."),
            new("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
            new("Object", "string", "The object that this event is about."),
            new("Subobject", "string", "The field of the object that this event is about.", 1),
            new("Source", "string", "The component reporting this event.", 1),
            new("Message", "string", "A human-readable description of the status of this operation."),
            new("First Seen", "string", "The time at which the event was first recorded.", 1),
            new("Count", "string", "The number of times this event has occurred.", 1),
            new("Name", "string", NameDescription, 1, "name"),
        ],
        (e, now) =>
        {
            var involved = e["involvedObject"] as JsonObject;
            var first = Time(e["firstTimestamp"]) ?? Time(e["eventTime"]) ?? Time(e["metadata"]?["creationTimestamp"]);
            var last = Time(e["lastTimestamp"]) ?? Time(e["series"]?["lastObservedTime"]) ?? first;
            var source = Str(e["source"]?["component"]) ?? Str(e["reportingComponent"]) ?? "";
            if (Str(e["source"]?["host"]) is { Length: > 0 } host) source += ", " + host;
            return
            [
                last is { } l ? HumanDuration(now - l) : "<unknown>",
                Str(e["type"]) ?? "", Str(e["reason"]) ?? "",
                $"{(Str(involved?["kind"]) ?? "").ToLowerInvariant()}/{Str(involved?["name"])}",
                Str(involved?["fieldPath"]) ?? "", source, Str(e["message"])?.Trim() ?? "",
                first is { } f ? HumanDuration(now - f) : "<unknown>",
                JsonUtil.TryGetLong(e["count"]) ?? 1, Name(e),
            ];
        });

    /// <summary>formatEndpoints of printers.go: ip:port per address and port, at most three, then "+ N more...".</summary>
    private static string EndpointsCell(JsonObject endpoints)
    {
        var list = new List<string>();
        var count = 0;
        foreach (var subset in (endpoints["subsets"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var addresses = (subset["addresses"] as JsonArray)?.OfType<JsonObject>().Select(a => Str(a["ip"]) ?? "").ToList() ?? [];
            var ports = (subset["ports"] as JsonArray)?.OfType<JsonObject>().Select(p => JsonUtil.TryGetLong(p["port"]) ?? 0).ToList() ?? [];
            var entries = ports.Count == 0
                ? addresses
                : ports.SelectMany(port => addresses.Select(ip => ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port}" : $"{ip}:{port}")).ToList();
            foreach (var entry in entries)
            {
                if (list.Count < 3) list.Add(entry);
                count++;
            }
        }
        if (list.Count == 0) return None;
        return count > list.Count ? $"{string.Join(",", list)} + {count - list.Count} more..." : string.Join(",", list);
    }

    private static string SlicePorts(JsonObject slice)
    {
        var ports = (slice["ports"] as JsonArray)?.OfType<JsonObject>().Select(p => JsonUtil.TryGetLong(p["port"])).OfType<long>().ToList() ?? [];
        return ports.Count == 0 ? "<unset>" : string.Join(",", ports);
    }

    private static string SliceEndpoints(JsonObject slice)
    {
        var addresses = (slice["endpoints"] as JsonArray)?.OfType<JsonObject>()
            .SelectMany(e => (e["addresses"] as JsonArray)?.Select(Str).OfType<string>() ?? []).ToList() ?? [];
        if (addresses.Count == 0) return "<unset>";
        return addresses.Count > 3 ? $"{string.Join(",", addresses.Take(3))} + {addresses.Count - 3} more..." : string.Join(",", addresses);
    }

    private static string Name(JsonObject o) => JsonUtil.MetaString(o, "name") ?? "";

    private static string? Str(JsonNode? node) => JsonUtil.Str(node);

    private static DateTimeOffset? Time(JsonNode? node) =>
        Str(node) is { Length: > 0 } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static string Age(JsonObject o, DateTimeOffset now) =>
        Time(o["metadata"]?["creationTimestamp"]) is { } created ? HumanDuration(now - created) : "<unknown>";

    /// <summary>k8s.io/apimachinery/pkg/util/duration.HumanDuration: "42s", "3m20s", "5h", "2d3h", "1y".</summary>
    internal static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)Math.Floor(d.TotalSeconds);
        if (seconds < -1) return "<invalid>";
        if (seconds < 0) return "0s";
        if (seconds < 60 * 2) return Invariant($"{seconds}s");
        var minutes = (long)d.TotalMinutes;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? Invariant($"{minutes}m") : Invariant($"{minutes}m{s}s");
        }
        if (minutes < 60 * 3) return Invariant($"{minutes}m");
        var hours = (long)d.TotalHours;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? Invariant($"{hours}h") : Invariant($"{hours}h{m}m");
        }
        if (hours < 48) return Invariant($"{hours}h");
        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? Invariant($"{hours / 24}d") : Invariant($"{hours / 24}d{h}h");
        }
        if (hours < 24 * 365 * 2) return Invariant($"{hours / 24}d");
        if (hours < 24 * 365 * 8)
        {
            var dy = hours / 24 % 365;
            return dy == 0 ? Invariant($"{hours / 24 / 365}y") : Invariant($"{hours / 24 / 365}y{dy}d");
        }
        return Invariant($"{hours / 24 / 365}y");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
