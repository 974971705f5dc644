using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Client;
using UserApiOperator.Kubernetes.Entities;
using UserApiOperator.Kubernetes.Models;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Runtime;
using UserApiOperator.Validation;

namespace UserApiOperator.Controller;

/// <summary>
/// Reconciles a UserApi (DESIGN.md sections 2 and 3): validates the spec, makes the password Secret
/// once, server-side applies the Deployment, Service and Ingress where the live objects differ from
/// the desired ones (deleting the Ingress when disabled), then writes the status when it changed and
/// records an Event when something changed. Level-based and idempotent: a reconcile that finds
/// everything in place sends no write. Desired objects come from the pure builders in
/// <see cref="DesiredObjects"/>; this class only orchestrates.
/// </summary>
/// <param name="client">API access.</param>
/// <param name="events">Event recorder.</param>
/// <param name="timeProvider">Clock of condition transitions.</param>
/// <param name="logger">One Information line per reconcile that changed something; Debug otherwise.</param>
public sealed partial class UserApiController(IKubernetesClient client, IEventRecorder events, TimeProvider timeProvider, ILogger<UserApiController> logger)
    : IEntityController<V1Alpha1UserApi>
{
    /// <summary>Field manager of every write: <c>userapi-operator</c>.</summary>
    public const string FieldManager = UserApiLabels.ManagedBy;

    /// <summary>How soon a UserApi whose referenced Secret is missing is looked at again (that Secret is not watched).</summary>
    public static readonly TimeSpan MissingSecretRecheck = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the status of a UserApi whose Deployment this operator has just created waits for the
    /// Deployment controller's first report (it comes within moments in a working cluster and
    /// triggers a reconcile). A status computed before it describes nothing observed and is
    /// superseded at once; waiting saves that write. The wait is bounded: after it the status is
    /// written whatever the Deployment says.
    /// </summary>
    public static readonly TimeSpan FirstReportWait = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _awaitingFirstReport = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<string, string> _lastFailure = new(StringComparer.Ordinal);

    /// <inheritdoc />
    /// <remarks>
    /// A failure is recorded as a Warning Event <c>ReconcileFailed</c> (once per distinct error, not
    /// on every retry) and rethrown, so that the runtime retries with backoff.
    /// </remarks>
    public async Task<ReconcileResult> ReconcileAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var key = ObjectKey.Of(entity);
        try
        {
            var result = await ReconcileCoreAsync(entity, cancellationToken).ConfigureAwait(false);
            _lastFailure.TryRemove(key, out _);
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var message = $"{e.GetType().Name}: {e.Message}";
            if (!_lastFailure.TryGetValue(key, out var last) || last != message)
            {
                _lastFailure[key] = message;
                await events.RecordAsync(entity, V1Event.TypeWarning, "ReconcileFailed", message, cancellationToken).ConfigureAwait(false);
            }

            throw;
        }
    }

    private async Task<ReconcileResult> ReconcileCoreAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var ns = entity.Metadata.Namespace;
        var name = entity.Metadata.Name!;
        var report = new Dictionary<string, ChildOutcome>();
        Problem? problem = null;
        V1Deployment? deployment;
        V1Ingress? ingress = null;

        var errors = UserApiValidator.Validate(entity);
        if (errors.Count > 0)
        {
            problem = new Problem(Problem.InvalidSpec, string.Join("; ", errors));
            deployment = await client.GetAsync<V1Deployment>(name, ns, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var desired = DesiredObjects.For(entity, PasswordGenerator.Generate());
            (report["secret"], problem) = await EnsureSecretAsync(entity, desired.Secret, cancellationToken).ConfigureAwait(false);

            ChildOutcome outcome;
            Problem? conflict;
            (outcome, deployment, conflict) = await ApplyAsync(entity, desired.Deployment, cancellationToken).ConfigureAwait(false);
            report["deployment"] = outcome;
            problem ??= conflict;
            (outcome, _, conflict) = await ApplyAsync(entity, desired.Service, cancellationToken).ConfigureAwait(false);
            report["service"] = outcome;
            problem ??= conflict;
            if (desired.Ingress is not null)
            {
                (outcome, ingress, conflict) = await ApplyAsync(entity, desired.Ingress, cancellationToken).ConfigureAwait(false);
                report["ingress"] = outcome;
                problem ??= conflict;
            }
            else
            {
                report["ingress"] = await DeleteIngressAsync(entity, cancellationToken).ConfigureAwait(false);
            }
        }

        var now = timeProvider.GetUtcNow();
        var key = ObjectKey.Of(entity);
        if (report.GetValueOrDefault("deployment") == ChildOutcome.Created)
        {
            _awaitingFirstReport[key] = now;
        }

        var previousDegraded = Conditions.Find(entity.Status?.Conditions, Conditions.Degraded);
        var status = UserApiStatusBuilder.Build(entity, deployment, ingress, problem, now);
        var waitFor = AwaitingFirstReport(key, deployment, problem, now);
        bool statusChanged = false;
        try
        {
            if (waitFor is null)
            {
                statusChanged = await WriteStatusIfChangedAsync(entity, status, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KubernetesInvalidException e)
        {
            // The API server validates the whole object on a status write; before validation
            // ratcheting (Kubernetes 1.30) an invalid spec makes every status write fail. Retrying
            // cannot help until the spec changes, so report it through an Event instead.
            LogStatusRejected(logger, ObjectKey.Of(entity), e.ServerMessage ?? e.Message);
            statusChanged = false;
            status = UserApiStatusBuilder.Build(entity, deployment, ingress, new Problem(Problem.InvalidSpec, e.ServerMessage ?? e.Message), timeProvider.GetUtcNow());
            previousDegraded = null;
        }

        await RecordEventsAsync(entity, report, status, previousDegraded, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var summary = Summary(report, status, entity.Spec.Replicas);
        if (statusChanged || report.Values.Any(o => o is ChildOutcome.Created or ChildOutcome.Updated or ChildOutcome.Deleted))
        {
            LogReconciled(logger, ObjectKey.Of(entity), summary, elapsed);
        }
        else
        {
            LogUnchanged(logger, ObjectKey.Of(entity), summary, elapsed);
        }

        return problem?.Reason == Problem.SecretNotFound ? ReconcileResult.After(MissingSecretRecheck)
            : waitFor is { } wait ? ReconcileResult.After(wait)
            : ReconcileResult.Done;
    }

    /// <summary>
    /// How much longer the status waits for the Deployment controller's first report on a Deployment
    /// this operator created (see <see cref="FirstReportWait"/>); null when it should be written now.
    /// </summary>
    private TimeSpan? AwaitingFirstReport(string key, V1Deployment? deployment, Problem? problem, DateTimeOffset now)
    {
        if (!_awaitingFirstReport.TryGetValue(key, out var created))
        {
            return null;
        }

        var left = FirstReportWait - (now - created);
        if (problem is null && deployment?.Status?.ObservedGeneration is null && left > TimeSpan.Zero)
        {
            return left;
        }

        _awaitingFirstReport.TryRemove(key, out _);
        return null;
    }

    /// <inheritdoc />
    public Task DeletedAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entity);
        _lastFailure.TryRemove(ObjectKey.Of(entity), out _);
        _awaitingFirstReport.TryRemove(ObjectKey.Of(entity), out _);
        LogDeleted(logger, ObjectKey.Of(entity));
        return Task.CompletedTask;
    }

    /// <summary>
    /// The generated Secret is created once and never replaced: the MySQL data is initialised with
    /// its password. A referenced Secret must exist and hold the key.
    /// </summary>
    private async Task<(ChildOutcome, Problem?)> EnsureSecretAsync(V1Alpha1UserApi entity, V1Secret? desired, CancellationToken cancellationToken)
    {
        var ns = entity.Metadata.Namespace;
        if (desired is null)
        {
            var (secretName, key) = UserApiNames.PasswordSource(entity);
            var referenced = await client.GetAsync<V1Secret>(secretName, ns, cancellationToken).ConfigureAwait(false);
            return referenced is null
                ? (ChildOutcome.Blocked, new Problem(Problem.SecretNotFound, $"spec.database.passwordSecretRef: Secret {ns}/{secretName} not found"))
                : referenced.Data?.ContainsKey(key) != true
                    ? (ChildOutcome.Blocked, new Problem(Problem.SecretNotFound, $"spec.database.passwordSecretRef: Secret {ns}/{secretName} has no key \"{key}\""))
                    : (ChildOutcome.Absent, null);
        }

        var existing = await client.GetAsync<V1Secret>(desired.Metadata.Name!, ns, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            try
            {
                await client.CreateAsync(desired, FieldManager, cancellationToken).ConfigureAwait(false);
                return (ChildOutcome.Created, null);
            }
            catch (KubernetesConflictException e) when (e.IsAlreadyExists)
            {
                return (ChildOutcome.Unchanged, null); // Made meanwhile; its password stands.
            }
        }

        if (OwnedBySomeoneElse(entity, existing) is { } conflict)
        {
            return (ChildOutcome.Blocked, conflict);
        }

        if (existing.Data?.ContainsKey(UserApiNames.PasswordKey) != true)
        {
            // Someone removed the key: there is no password to keep, so add one.
            var patch = new JsonObject { ["data"] = new JsonObject { [UserApiNames.PasswordKey] = KubernetesJson.ToNode(desired).AsObject()["data"]![UserApiNames.PasswordKey]!.DeepClone() } };
            await client.PatchAsync<V1Secret>(existing.Metadata.Name!, ns, patch, cancellationToken).ConfigureAwait(false);
            return (ChildOutcome.Updated, null);
        }

        return (ChildOutcome.Unchanged, null);
    }

    private async Task<(ChildOutcome Outcome, T? Live, Problem? Conflict)> ApplyAsync<T>(V1Alpha1UserApi entity, T desired, CancellationToken cancellationToken)
        where T : class, IKubernetesObject
    {
        var live = await client.GetAsync<T>(desired.Metadata.Name!, desired.Metadata.Namespace, cancellationToken).ConfigureAwait(false);
        if (live is not null && OwnedBySomeoneElse(entity, live) is { } conflict)
        {
            return (ChildOutcome.Blocked, live, conflict);
        }

        if (live is not null && DesiredStateComparer.IsSatisfiedBy(KubernetesJson.ToNode(desired), KubernetesJson.ToNode(live)))
        {
            return (ChildOutcome.Unchanged, live, null);
        }

        var applied = await client.ApplyAsync(desired, FieldManager, force: true, cancellationToken).ConfigureAwait(false);
        return (live is null ? ChildOutcome.Created : ChildOutcome.Updated, applied, null);
    }

    private async Task<ChildOutcome> DeleteIngressAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        var name = UserApiNames.Workload(entity);
        var live = await client.GetAsync<V1Ingress>(name, entity.Metadata.Namespace, cancellationToken).ConfigureAwait(false);
        if (live is null || !IsControlledBy(entity, live))
        {
            return ChildOutcome.Absent; // An Ingress we do not control is not ours to delete.
        }

        return await client.DeleteAsync<V1Ingress>(name, entity.Metadata.Namespace, cancellationToken).ConfigureAwait(false)
            ? ChildOutcome.Deleted
            : ChildOutcome.Absent;
    }

    private static bool IsControlledBy(V1Alpha1UserApi entity, IKubernetesObject child) =>
        child.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == entity.Metadata.Uid) == true;

    private static Problem? OwnedBySomeoneElse(V1Alpha1UserApi entity, IKubernetesObject live)
    {
        var controller = live.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        return controller is null || controller.Uid == entity.Metadata.Uid
            ? null
            : new Problem(Problem.OwnershipConflict, $"{live.Kind} {live.Metadata.Namespace}/{live.Metadata.Name} is controlled by {controller.Kind} {controller.Name}, not by this UserApi");
    }

    /// <summary>Writes <paramref name="status"/> through the status subresource unless it equals the current one (no status churn).</summary>
    private async Task<bool> WriteStatusIfChangedAsync(V1Alpha1UserApi entity, UserApiStatus status, CancellationToken cancellationToken)
    {
        var current = entity.Status is null ? new JsonObject() : KubernetesJson.ToNode(entity.Status).AsObject();
        var desired = KubernetesJson.ToNode(status).AsObject();
        if (JsonNode.DeepEquals(current, desired))
        {
            return false;
        }

        // A JSON merge patch (RFC 7386) of the whole status: fields that disappeared are set to null.
        foreach (var (key, _) in current)
        {
            if (!desired.ContainsKey(key))
            {
                desired[key] = null;
            }
        }

        await client.PatchStatusAsync<V1Alpha1UserApi>(entity.Metadata.Name!, entity.Metadata.Namespace, new JsonObject { ["status"] = desired }, FieldManager, cancellationToken)
            .ConfigureAwait(false);
        return true;
    }

    private async Task RecordEventsAsync(V1Alpha1UserApi entity, Dictionary<string, ChildOutcome> report, UserApiStatus status, V1Condition? previousDegraded, CancellationToken cancellationToken)
    {
        var changed = report.Where(p => p.Value is ChildOutcome.Created or ChildOutcome.Updated or ChildOutcome.Deleted).ToList();
        if (changed.Count > 0)
        {
            var reason = changed.Any(p => p.Value == ChildOutcome.Created) ? "Created" : "Updated";
            var message = string.Join(", ", changed.Select(p => $"{p.Value.ToString().ToLowerInvariant()} {DisplayKind(p.Key)} {ChildName(entity, p.Key)}"));
            await events.RecordAsync(entity, V1Event.TypeNormal, reason, Capitalise(message), cancellationToken).ConfigureAwait(false);
        }

        var degraded = Conditions.Find(status.Conditions, Conditions.Degraded);
        if (degraded?.Status == Conditions.True
            && (previousDegraded?.Status != Conditions.True || previousDegraded.Reason != degraded.Reason || previousDegraded.Message != degraded.Message))
        {
            await events.RecordAsync(entity, V1Event.TypeWarning, degraded.Reason, degraded.Message, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string ChildName(V1Alpha1UserApi entity, string child) =>
        child == "secret" ? UserApiNames.GeneratedSecret(entity) : UserApiNames.Workload(entity);

    private static string DisplayKind(string child) => child switch
    {
        "secret" => "Secret",
        "deployment" => "Deployment",
        "service" => "Service",
        _ => "Ingress",
    };

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Summary(Dictionary<string, ChildOutcome> report, UserApiStatus status, int desired)
    {
        var text = new StringBuilder();
        foreach (var (child, outcome) in report)
        {
            text.Append(child).Append('=').Append(outcome.ToString().ToLowerInvariant()).Append(' ');
        }

        text.Append("ready=").Append(status.ReadyReplicas ?? 0).Append('/').Append(desired);
        if (Conditions.Find(status.Conditions, Conditions.Degraded) is { Status: Conditions.True } degraded)
        {
            text.Append(" degraded=").Append(degraded.Reason).Append(": ").Append(degraded.Message);
        }

        return text.ToString();
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Reconciled {Key}: {Summary} ({ElapsedMs:0} ms)")]
    private static partial void LogReconciled(ILogger logger, string key, string summary, double elapsedMs);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Reconciled {Key}, nothing changed: {Summary} ({ElapsedMs:0} ms)")]
    private static partial void LogUnchanged(ILogger logger, string key, string summary, double elapsedMs);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "The API server rejected the status of {Key}: {Reason}")]
    private static partial void LogStatusRejected(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "UserApi {Key} deleted; its Secret, Deployment, Service and Ingress go with it (owner references)")]
    private static partial void LogDeleted(ILogger logger, string key);
}
