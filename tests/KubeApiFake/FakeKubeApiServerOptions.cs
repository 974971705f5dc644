namespace KubeApiFake;

/// <summary>Settings of a <see cref="FakeKubeApiServer"/>.</summary>
public sealed partial class FakeKubeApiServerOptions
{
    /// <summary>How many past events the watch history retains (a real watch cache holds a window too). Default 1000.</summary>
    public int HistoryLimit { get; set; } = 1000;

    /// <summary>Interval between BOOKMARK events on watches that allow them. Default 5 s (a real server: about 1 min).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Server-side timeout of watches without <c>timeoutSeconds</c>; null (default) keeps them open until closed.</summary>
    public TimeSpan? DefaultWatchTimeout { get; set; }

    /// <summary>Clock for creationTimestamp, deletionTimestamp and managedFields times.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Create namespaces default, kube-system, kube-public, kube-node-lease at start. Default true.</summary>
    public bool SeedDefaultNamespaces { get; set; } = true;

    /// <summary>Reject creates into a namespace that does not exist (404, as a real server). Default false (lenient).</summary>
    public bool RequireNamespace { get; set; }

    /// <summary>Version reported by <c>/version</c>.</summary>
    public string GitVersion { get; set; } = "v1.31.0";

    /// <summary>Most recent requests kept in <see cref="FakeKubeApiServer.Requests"/> (older ones are dropped). Default 10000.</summary>
    public int RequestLogLimit { get; set; } = 10_000;

    /// <summary>
    /// Authenticate every request by its bearer token and authorise it with RBAC over the stored
    /// Roles, ClusterRoles and bindings, as kube-apiserver does (401 for a missing or unknown token,
    /// 403 for a denied request). Seeds the bootstrap <c>cluster-admin</c>, <c>system:discovery</c>
    /// and <c>system:public-info-viewer</c> ClusterRoles and bindings. Default false: every request
    /// is allowed and any token works.
    /// </summary>
    public bool EnableAuthorization { get; set; }

    /// <summary>
    /// Serve HTTPS with a serving certificate (for <c>127.0.0.1</c>, <c>::1</c> and <c>localhost</c>)
    /// signed by a certificate authority, both made at start;
    /// <see cref="FakeKubeApiServer.KubeconfigYaml(string, string)"/> then carries the authority as
    /// <c>certificate-authority-data</c> and <see cref="FakeKubeApiServer.CreateClient()"/> trusts it.
    /// Needed by clients that send credentials only over TLS (client-go, hence kubectl, reads a
    /// kubeconfig's user only for an https server). Default false: plain HTTP.
    /// </summary>
    public bool UseTls { get; set; }

    /// <summary>Extra resource types served from the start.</summary>
    public IEnumerable<ResourceType> AdditionalResources { get; set; } = [];
}
