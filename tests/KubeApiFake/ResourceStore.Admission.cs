using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The ServiceAccount admission plugin on Pod creation (plugin/pkg/admission/serviceaccount/admission.go,
/// <c>Admit</c>, with bound ServiceAccount token volumes as every current cluster has them), run with
/// <see cref="FakeKubeApiServerOptions.EmulateCluster"/> after defaulting and before validation:
/// <list type="bullet">
/// <item><c>spec.serviceAccountName</c> defaults to <c>default</c> (and <c>spec.serviceAccount</c>, its
/// deprecated alias, follows it); the ServiceAccount must exist, otherwise 403
/// <c>pods "x" is forbidden: error looking up service account ns/sa: serviceaccount "sa" not found</c>;</item>
/// <item>unless <c>automountServiceAccountToken</c> is false (the Pod's wins over the ServiceAccount's,
/// <c>shouldAutomount</c>), the projected volume <c>kube-api-access-&lt;5 random characters&gt;</c>
/// (<c>TokenVolumeSource</c>: a ServiceAccount token of 3607 s at <c>token</c>, <c>ca.crt</c> from the
/// ConfigMap <c>kube-root-ca.crt</c>, <c>namespace</c> from the downward API; default mode 0644) is added,
/// mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init
/// container that has nothing mounted there yet (<c>mountServiceAccountToken</c>);</item>
/// <item>a Pod without <c>imagePullSecrets</c> gets those of its ServiceAccount.</item>
/// </list>
/// Mirror Pods (annotation <c>kubernetes.io/config.mirror</c>) are left alone but may not name a
/// ServiceAccount (<c>Validate</c>).
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>Where the plugin mounts the token volume (<c>DefaultAPITokenMountPath</c>).</summary>
    public const string ServiceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>The token lifetime the plugin asks for (<c>WarnOnlyBoundTokenExpirationSeconds</c>, pkg/serviceaccount/claims.go).</summary>
    public const long WarnOnlyBoundTokenExpirationSeconds = 3607;

    private const string ServiceAccountVolumePrefix = "kube-api-access-";
    private const string MirrorPodAnnotation = "kubernetes.io/config.mirror";

    /// <summary>Admits a Pod being created into <paramref name="ns"/>; <paramref name="displayName"/> names it in errors (its generateName until a name is made).</summary>
    private void AdmitPodLocked(string ns, JsonObject pod, string displayName)
    {
        if (pod["spec"] is not JsonObject spec)
        {
            spec = new JsonObject();
            pod["spec"] = spec;
        }

        var serviceAccounts = FindType("", "v1", "serviceaccounts")!;
        var pods = FindType("", "v1", "pods")!;
        if (pod["metadata"]?["annotations"]?[MirrorPodAnnotation] is not null)
        {
            if (JsonUtil.Str(spec["serviceAccountName"]) is { Length: > 0 })
            {
                throw StatusResponses.Forbidden(pods, displayName, "a mirror pod may not reference service accounts");
            }
            return;
        }

        // The v1 conversion fills serviceAccountName from the deprecated serviceAccount when only that is set.
        var name = JsonUtil.Str(spec["serviceAccountName"]) is { Length: > 0 } given ? given
            : JsonUtil.Str(spec["serviceAccount"]) is { Length: > 0 } deprecated ? deprecated
            : "default";
        spec["serviceAccountName"] = name;
        spec["serviceAccount"] = name;

        if (Find(serviceAccounts, ns, name)?.Object is not { } serviceAccount)
        {
            throw StatusResponses.Forbidden(pods, displayName, $"error looking up service account {ns}/{name}: serviceaccount \"{name}\" not found");
        }

        var automount = spec["automountServiceAccountToken"] is JsonValue podChoice ? JsonUtil.IsTrue(podChoice)
            : serviceAccount["automountServiceAccountToken"] is JsonValue accountChoice ? JsonUtil.IsTrue(accountChoice)
            : true;
        if (automount) MountServiceAccountToken(spec);

        if (spec["imagePullSecrets"] is not JsonArray { Count: > 0 } && serviceAccount["imagePullSecrets"] is JsonArray { Count: > 0 } pullSecrets)
        {
            spec["imagePullSecrets"] = new JsonArray([.. pullSecrets.OfType<JsonObject>().Select(s => (JsonNode)new JsonObject { ["name"] = JsonUtil.Str(s["name"]) })]);
        }
    }

    private static void MountServiceAccountToken(JsonObject spec)
    {
        if (spec["volumes"] is not JsonArray volumes)
        {
            volumes = [];
            spec["volumes"] = volumes;
        }

        var existing = volumes.OfType<JsonObject>().Select(v => JsonUtil.Str(v["name"]))
            .FirstOrDefault(n => n is not null && n.StartsWith(ServiceAccountVolumePrefix, StringComparison.Ordinal));
        var volumeName = existing ?? ServiceAccountVolumePrefix + RandomSuffix();
        var needsVolume = false;
        foreach (var list in new[] { "initContainers", "containers" })
        {
            foreach (var container in (spec[list] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (container["volumeMounts"] is not JsonArray mounts)
                {
                    mounts = [];
                    container["volumeMounts"] = mounts;
                }
                if (mounts.OfType<JsonObject>().Any(m => JsonUtil.Str(m["mountPath"]) == ServiceAccountMountPath)) continue;
                mounts.Add(new JsonObject { ["name"] = volumeName, ["readOnly"] = true, ["mountPath"] = ServiceAccountMountPath });
                needsVolume = true;
            }
        }

        if (existing is not null || !needsVolume) return;
        volumes.Add(new JsonObject
        {
            ["name"] = volumeName,
            ["projected"] = new JsonObject
            {
                ["sources"] = new JsonArray(
                    new JsonObject
                    {
                        ["serviceAccountToken"] = new JsonObject { ["expirationSeconds"] = WarnOnlyBoundTokenExpirationSeconds, ["path"] = "token" },
                    },
                    new JsonObject
                    {
                        ["configMap"] = new JsonObject
                        {
                            ["name"] = RootCaConfigMapName,
                            ["items"] = new JsonArray(new JsonObject { ["key"] = "ca.crt", ["path"] = "ca.crt" }),
                        },
                    },
                    new JsonObject
                    {
                        ["downwardAPI"] = new JsonObject
                        {
                            ["items"] = new JsonArray(new JsonObject
                            {
                                ["path"] = "namespace",
                                ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = "metadata.namespace" },
                            }),
                        },
                    }),
                // SetDefaults_ProjectedVolumeSource: 0644, shown in decimal.
                ["defaultMode"] = 420,
            },
        });
    }
}
