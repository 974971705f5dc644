using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using k8s.Models;

namespace UserApiOperator.Controllers;

/// <summary>
/// Computes the status of a UserApi from what the operator observed: the Deployment's status, the
/// Ingress's address, why its Pods are not ready and any <see cref="Problem"/>. A pure function; the controller writes the
/// result only when it differs from the current status.
/// </summary>
public static class UserApiStatusBuilder
{
    /// <summary>The new status of <paramref name="userApi"/>.</summary>
    /// <param name="userApi">The UserApi, with its current status (for condition transition times).</param>
    /// <param name="deployment">The live Deployment, or null when there is none (yet).</param>
    /// <param name="ingress">The live Ingress, or null when disabled or not there yet.</param>
    /// <param name="problem">What blocks the desired state, or null.</param>
    /// <param name="now">Time of the observation, used for conditions whose status changes.</param>
    /// <param name="notReady">
    /// Why the Pods are not ready, as they report it (<see cref="PodReadiness"/>), or null: while the
    /// rollout is incomplete and there is no <paramref name="problem"/>, it becomes the Ready condition's
    /// reason, and its message follows the replica count (<c>0/1 replicas ready; Pod x cannot be scheduled: 0/3 nodes are available: ...</c>).
    /// </param>
    public static UserApiStatus Build(V1Alpha1UserApi userApi, V1Deployment? deployment, V1Ingress? ingress, Problem? problem, DateTimeOffset now, NotReadyReason? notReady = null)
    {
        var generation = userApi.Metadata.Generation;
        var desired = userApi.Spec.Replicas;
        var status = deployment?.Status;
        var ready = status?.ReadyReplicas ?? 0;
        var rolloutFailure = status?.Conditions?.FirstOrDefault(c => IsRolloutFailure(c.Type, c.Status, c.Reason));
        problem ??= rolloutFailure is null ? null : new Problem(Problem.RolloutFailed, $"Deployment {deployment!.Metadata.Name}: {rolloutFailure.Message ?? rolloutFailure.Reason}");
        var complete = deployment is not null && RolloutComplete(deployment, desired);
        var time = new DateTime(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), DateTimeKind.Utc); // Kubernetes stores whole seconds.

        V1Condition Condition(string type, bool value, string reason, string message) => new()
        {
            Type = type,
            Status = value ? Conditions.True : Conditions.False,
            ObservedGeneration = generation,
            LastTransitionTime = time,
            Reason = reason,
            Message = message,
        };

        var readyMessage = $"{ready}/{desired} replicas ready";
        var conditions = userApi.Status?.Conditions;
        conditions = Conditions.Set(conditions, complete && problem is null
            ? Condition(Conditions.Ready, true, "Available", readyMessage)
            : problem is null && notReady is not null
                ? Condition(Conditions.Ready, false, notReady.Reason, $"{readyMessage}; {notReady.Message}")
                : Condition(Conditions.Ready, false, problem?.Reason ?? "ReplicasNotReady", problem?.Message ?? readyMessage));
        conditions = Conditions.Set(conditions, problem is not null
            ? Condition(Conditions.Progressing, false, "Blocked", "waiting for the problem in Degraded to be fixed")
            : complete
                ? Condition(Conditions.Progressing, false, "RolloutComplete", readyMessage)
                : Condition(Conditions.Progressing, true, deployment is null ? "Creating" : "RollingOut", readyMessage));
        conditions = Conditions.Set(conditions, problem is null
            ? Condition(Conditions.Degraded, false, "AsExpected", "")
            : Condition(Conditions.Degraded, true, problem.Reason, problem.Message));

        return new UserApiStatus
        {
            ObservedGeneration = generation,
            Replicas = status?.Replicas ?? 0,
            ReadyReplicas = ready,
            Selector = UserApiLabels.SelectorString(userApi),
            Url = Url(userApi, ingress),
            SecretName = UserApiNames.PasswordSource(userApi).Secret,
            Conditions = conditions,
        };
    }

    /// <summary>
    /// Whether a Deployment condition says its rollout failed: <c>Progressing=False</c> with reason
    /// <c>ProgressDeadlineExceeded</c>, or <c>ReplicaFailure=True</c>.
    /// </summary>
    public static bool IsRolloutFailure(string? type, string? status, string? reason) =>
        (type == "Progressing" && status == Conditions.False && reason == "ProgressDeadlineExceeded")
        || (type == "ReplicaFailure" && status == Conditions.True);

    /// <summary>
    /// <c>http(s)://&lt;host or ingress address&gt;&lt;path&gt;</c>: https when <c>tlsSecretName</c> is set;
    /// the rule's host when set, else the first load-balancer host name or IP the ingress controller
    /// reported; null while neither is known or when the Ingress is disabled.
    /// </summary>
    public static string? Url(V1Alpha1UserApi userApi, V1Ingress? ingress)
    {
        var spec = userApi.Spec.Ingress;
        if (!spec.Enabled)
        {
            return null;
        }

        var address = spec.Host ?? ingress?.Status?.LoadBalancer?.Ingress?
            .Select(i => i.Hostname ?? i.Ip)
            .FirstOrDefault(a => !string.IsNullOrEmpty(a));
        if (address is null)
        {
            return null;
        }

        var scheme = spec.TlsSecretName is null ? "http" : "https";
        return $"{scheme}://{(address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address)}{spec.Path}";
    }

    /// <summary>
    /// The Deployment controller has seen the current spec, and exactly the desired number of Pods
    /// run the current template and are ready (kubectl rollout status's rule).
    /// </summary>
    private static bool RolloutComplete(V1Deployment deployment, int desired)
    {
        var status = deployment.Status;
        return status is not null
            && (status.ObservedGeneration ?? 0) >= (deployment.Metadata.Generation ?? 0)
            && (status.UpdatedReplicas ?? 0) >= desired
            && (status.ReadyReplicas ?? 0) >= desired
            && (status.Replicas ?? 0) <= desired;
    }
}
