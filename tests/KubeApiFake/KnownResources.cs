namespace KubeApiFake;

/// <summary>The built-in resources the fake serves from the start, and their <see cref="GroupVersionResource"/> names.</summary>
public static class KnownResources
{
    /// <summary>core/v1 namespaces.</summary>
    public static readonly GroupVersionResource Namespaces = new("", "v1", "namespaces");

    /// <summary>core/v1 secrets.</summary>
    public static readonly GroupVersionResource Secrets = new("", "v1", "secrets");

    /// <summary>core/v1 services.</summary>
    public static readonly GroupVersionResource Services = new("", "v1", "services");

    /// <summary>core/v1 events.</summary>
    public static readonly GroupVersionResource Events = new("", "v1", "events");

    /// <summary>core/v1 configmaps.</summary>
    public static readonly GroupVersionResource ConfigMaps = new("", "v1", "configmaps");

    /// <summary>apps/v1 deployments.</summary>
    public static readonly GroupVersionResource Deployments = new("apps", "v1", "deployments");

    /// <summary>networking.k8s.io/v1 ingresses.</summary>
    public static readonly GroupVersionResource Ingresses = new("networking.k8s.io", "v1", "ingresses");

    /// <summary>autoscaling/v2 horizontalpodautoscalers.</summary>
    public static readonly GroupVersionResource HorizontalPodAutoscalers = new("autoscaling", "v2", "horizontalpodautoscalers");

    /// <summary>policy/v1 poddisruptionbudgets.</summary>
    public static readonly GroupVersionResource PodDisruptionBudgets = new("policy", "v1", "poddisruptionbudgets");

    /// <summary>networking.k8s.io/v1 networkpolicies.</summary>
    public static readonly GroupVersionResource NetworkPolicies = new("networking.k8s.io", "v1", "networkpolicies");

    /// <summary>coordination.k8s.io/v1 leases.</summary>
    public static readonly GroupVersionResource Leases = new("coordination.k8s.io", "v1", "leases");

    /// <summary>events.k8s.io/v1 events (stored apart from core/v1 events in this fake).</summary>
    public static readonly GroupVersionResource EventsV1 = new("events.k8s.io", "v1", "events");

    /// <summary>apiextensions.k8s.io/v1 customresourcedefinitions.</summary>
    public static readonly GroupVersionResource CustomResourceDefinitions = new("apiextensions.k8s.io", "v1", "customresourcedefinitions");

    /// <summary>core/v1 serviceaccounts.</summary>
    public static readonly GroupVersionResource ServiceAccounts = new("", "v1", "serviceaccounts");

    /// <summary>rbac.authorization.k8s.io/v1 roles (namespaced).</summary>
    public static readonly GroupVersionResource Roles = new("rbac.authorization.k8s.io", "v1", "roles");

    /// <summary>rbac.authorization.k8s.io/v1 rolebindings (namespaced).</summary>
    public static readonly GroupVersionResource RoleBindings = new("rbac.authorization.k8s.io", "v1", "rolebindings");

    /// <summary>rbac.authorization.k8s.io/v1 clusterroles (cluster-scoped).</summary>
    public static readonly GroupVersionResource ClusterRoles = new("rbac.authorization.k8s.io", "v1", "clusterroles");

    /// <summary>rbac.authorization.k8s.io/v1 clusterrolebindings (cluster-scoped).</summary>
    public static readonly GroupVersionResource ClusterRoleBindings = new("rbac.authorization.k8s.io", "v1", "clusterrolebindings");

    /// <summary>core/v1 pods (always served; their cluster behaviour comes with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>).</summary>
    public static readonly GroupVersionResource Pods = new("", "v1", "pods");

    /// <summary>core/v1 nodes, cluster-scoped (served with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>).</summary>
    public static readonly GroupVersionResource Nodes = new("", "v1", "nodes");

    /// <summary>core/v1 endpoints (served with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>).</summary>
    public static readonly GroupVersionResource Endpoints = new("", "v1", "endpoints");

    /// <summary>discovery.k8s.io/v1 endpointslices (served with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>).</summary>
    public static readonly GroupVersionResource EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices");

    /// <summary>apiregistration.k8s.io/v1 apiservices, cluster-scoped (served with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>).</summary>
    public static readonly GroupVersionResource ApiServices = new("apiregistration.k8s.io", "v1", "apiservices");

    /// <summary>
    /// The kinds a cluster's nodes and controllers use, served besides <see cref="All"/> with
    /// <see cref="FakeKubeApiServerOptions.EmulateCluster"/>: Nodes (status),
    /// Endpoints, EndpointSlices and the aggregation layer's APIServices (status); Pods are in
    /// <see cref="All"/>, and their <c>log</c>, <c>exec</c>, <c>attach</c>, <c>eviction</c> and
    /// <c>binding</c> subresources come with <see cref="FakeKubeApiServerOptions.EmulateCluster"/>. Short names,
    /// categories and status subresources as pkg/registry/core/pod/storage/storage.go (<c>po</c>,
    /// category <c>all</c>), pkg/registry/core/node/storage/storage.go (<c>no</c>),
    /// pkg/registry/core/endpoint/storage/storage.go (<c>ep</c>) and kube-aggregator's
    /// pkg/registry/apiservice/etcd/etcd.go (category <c>api-extensions</c>) declare them.
    /// </summary>
    public static IReadOnlyList<ResourceType> ClusterKinds { get; } =
    [
        new("", "v1", "nodes", "Node", Namespaced: false) { HasStatusSubresource = true, ShortNames = ["no"] },
        new("", "v1", "endpoints", "Endpoints", Namespaced: true) { ShortNames = ["ep"] },
        new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", Namespaced: true),
        new("apiregistration.k8s.io", "v1", "apiservices", "APIService", Namespaced: false) { HasStatusSubresource = true, Categories = ["api-extensions"] },
    ];

    /// <summary>Descriptors of every built-in resource, in discovery order.</summary>
    public static IReadOnlyList<ResourceType> All { get; } =
    [
        new("", "v1", "namespaces", "Namespace", false) { ShortNames = ["ns"], HasStatusSubresource = true },
        new("", "v1", "secrets", "Secret", true),
        new("", "v1", "services", "Service", true) { ShortNames = ["svc"], Categories = ["all"], HasStatusSubresource = true },
        // Pods are stored as kube-apiserver always serves them (operators list and watch them); what a
        // cluster does with them (admission, log, exec, eviction, binding) comes with EmulateCluster.
        new("", "v1", "pods", "Pod", Namespaced: true) { HasStatusSubresource = true, ShortNames = ["po"], Categories = ["all"] },
        new("", "v1", "events", "Event", true) { ShortNames = ["ev"] },
        new("", "v1", "configmaps", "ConfigMap", true) { ShortNames = ["cm"] },
        new("apps", "v1", "deployments", "Deployment", true)
        {
            ShortNames = ["deploy"], Categories = ["all"], HasStatusSubresource = true,
            Scale = new(".spec.replicas", ".status.replicas", ".spec.selector"),
        },
        new("networking.k8s.io", "v1", "ingresses", "Ingress", true) { ShortNames = ["ing"], HasStatusSubresource = true },
        // Short names, categories and status subresources as kube-apiserver's registries declare them
        // (kubernetes/kubernetes pkg/registry/autoscaling/horizontalpodautoscaler/storage/storage.go:
        // "hpa", category "all", StatusREST; pkg/registry/policy/poddisruptionbudget/storage/storage.go:
        // "pdb", StatusREST; pkg/registry/networking/networkpolicy/storage/storage.go: "netpol", and no
        // status since NetworkPolicyStatus was removed in 1.28).
        new("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true) { ShortNames = ["hpa"], Categories = ["all"], HasStatusSubresource = true },
        new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true) { ShortNames = ["pdb"], HasStatusSubresource = true },
        new("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true) { ShortNames = ["netpol"] },
        new("coordination.k8s.io", "v1", "leases", "Lease", true),
        new("events.k8s.io", "v1", "events", "Event", true) { ShortNames = ["ev"] },
        new("", "v1", "serviceaccounts", "ServiceAccount", true) { ShortNames = ["sa"] },
        new("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
        new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
        new("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
        new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
        new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false)
        {
            ShortNames = ["crd", "crds"], Categories = ["api-extensions"], HasStatusSubresource = true,
        },
    ];
}
