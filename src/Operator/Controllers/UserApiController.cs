using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using UserApiOperator.DesiredState;
using UserApiOperator.Entities;
using UserApiOperator.Kubernetes.Serialization;
using UserApiOperator.Runtime.Events;
using UserApiOperator.Runtime.Builder;
using UserApiOperator.Runtime.Client;
using UserApiOperator.Runtime.Rbac;
using UserApiOperator.Runtime.Reconciliation;
using UserApiOperator.Runtime.Watcher;
using UserApiOperator.Validation;

namespace UserApiOperator.Controllers;

/// <summary>
/// Reconciles a UserApi (DESIGN.md sections 2 and 3): validates the spec, makes the password Secret
/// once, server-side applies the Deployment, Service, Ingress, HorizontalPodAutoscaler,
/// PodDisruptionBudget and NetworkPolicy where the live objects differ from the desired ones
/// (deleting each optional one when it should not exist), then writes the status when it changed and
/// records an Event when something changed. Level-based and idempotent: a reconcile that finds
/// everything in place sends no request at all, because it reads the owned objects from the
/// informers' caches (as controller-runtime's client does) and every write's answer goes back into
/// them. Desired objects come from the pure builders in <see cref="DesiredObjects"/>, the status from
/// <see cref="UserApiStatusBuilder"/>; this class only orchestrates.
/// </summary>
/// <param name="client">API access for writes (and the GET of a referenced Secret, which is not cached).</param>
/// <param name="cache">The shared informer cache of UserApis and of every kind the UserApi owns.</param>
/// <param name="events">Event recorder (de-duplicates repeats).</param>
/// <param name="firstReports">Which new Deployments the status waits for.</param>
/// <param name="timeProvider">Clock of condition transitions.</param>
/// <param name="logger">One Information line per reconcile that changed something; Debug otherwise.</param>
[EntityRbac(typeof(V1Alpha1UserApi), RbacVerb.List | RbacVerb.Watch | RbacVerb.Get,
    Reason = "the informer lists and watches UserApis in every namespace (or the one of --namespace); a reconcile about to create the children of a new UserApi first reads it with a GET, so that nothing is made for one deleted a moment ago.")]
[EntityRbac(typeof(V1Alpha1UserApi), RbacVerb.Patch, Subresource = "status",
    Reason = "observedGeneration, replicas, selector, url, secretName and conditions go through the /status subresource.")]
[EntityRbac(typeof(V1Secret), RbacVerb.List | RbacVerb.Watch | RbacVerb.Get | RbacVerb.Create | RbacVerb.Patch,
    Reason = "the generated <name>-mysql Secret: watched as an owned object (cached as keys without values); a Secret named by spec.database.passwordSecretRef or spec.database.external.passwordSecretRef read with a GET; created once (POST, so a password is never overwritten); patched only to put back a MYSQL_PASSWORD key someone removed.")]
[EntityRbac(typeof(V1Pod), RbacVerb.List | RbacVerb.Watch,
    Reason = "the Pods of each UserApi (selected by the operator's labels), cached as name, UserApi and why not ready (PodScheduled=False, a waiting container), which the Ready condition reports; never written.")]
[EntityRbac(typeof(V1Deployment), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create,
    Reason = "the Deployment <name>: watched as an owned object and read from the cache; written with server-side apply (PATCH, which the API server also authorises as create when it creates the object).")]
[EntityRbac(typeof(V1Service), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create,
    Reason = "the ClusterIP Service <name>: watched as an owned object and read from the cache; written with server-side apply (PATCH, and create for the apply that creates it).")]
[EntityRbac(typeof(V1Ingress), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create | RbacVerb.Delete,
    Reason = "the Ingress <name>: watched as an owned object and read from the cache; written with server-side apply (PATCH, and create for the apply that creates it); deleted when spec.ingress.enabled is false.")]
[EntityRbac(typeof(V2HorizontalPodAutoscaler), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create | RbacVerb.Delete,
    Reason = "the HorizontalPodAutoscaler <name> (autoscaling/v2) that scales the UserApi: watched as an owned object and read from the cache; written with server-side apply (PATCH, and create for the apply that creates it); deleted when spec.autoscaling.enabled is false.")]
[EntityRbac(typeof(V1PodDisruptionBudget), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create | RbacVerb.Delete,
    Reason = "the PodDisruptionBudget <name> (policy/v1): watched as an owned object and read from the cache; written with server-side apply (PATCH, and create for the apply that creates it); deleted when disabled, below two replicas, or when it would block every drain.")]
[EntityRbac(typeof(V1NetworkPolicy), RbacVerb.List | RbacVerb.Watch | RbacVerb.Patch | RbacVerb.Create | RbacVerb.Delete,
    Reason = "the NetworkPolicy <name> (networking.k8s.io/v1) that admits traffic to the Pods only on the http port: watched as an owned object and read from the cache; written with server-side apply (PATCH, and create for the apply that creates it); deleted when spec.networkPolicy.enabled is false.")]
public sealed partial class UserApiController(
    IKubernetes client,
    InformerCache cache,
    IEventRecorder events,
    FirstReportTracker firstReports,
    TimeProvider timeProvider,
    ILogger<UserApiController> logger)
    : IEntityController<V1Alpha1UserApi>
{
    /// <summary>
    /// What this controller watches (controller-runtime's <c>SetupWithManager</c>): every UserApi, and
    /// each kind it owns, selected by the operator's labels and cached as the slim copies of
    /// <see cref="OwnedObjectCache"/> (identity, owner, the digest of what this operator applied, and
    /// the status fields the UserApi's status reads). A change to an owned object reconciles its
    /// controller owner. The generated Secret is cached as keys without values, so no password is held
    /// in memory. The UserApi's Pods (owned by its ReplicaSets, found by the same labels) are cached as
    /// the slim copies of <see cref="PodReadiness"/>, indexed by UserApi; a Pod reconciles its UserApi
    /// only when the reason it is not ready changes.
    /// </summary>
    /// <param name="builder">The builder of this controller.</param>
    /// <returns><paramref name="builder"/>, for <see cref="ControllerBuilder{TEntity}.Complete"/>.</returns>
    public static ControllerBuilder<V1Alpha1UserApi> SetUpWatches(ControllerBuilder<V1Alpha1UserApi> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .For(Transforms.Compact)
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1Secret>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1Deployment>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1Service>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1Ingress>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V2HorizontalPodAutoscaler>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1PodDisruptionBudget>())
            .Owns(UserApiLabels.ManagedSelector, OwnedObjectCache.Decoder<V1NetworkPolicy>())
            .Watches(UserApiLabels.ManagedSelector, PodReadiness.Decode, PodReadiness.Changed)
            .IndexField<V1Pod>(PodReadiness.ByUserApi, PodReadiness.UserApiKey);
    }

    private readonly AppliedRecords _recorded = new();

    /// <summary>Field manager of every write: <c>userapi-operator</c>.</summary>
    public const string FieldManager = UserApiLabels.ManagedBy;

    /// <summary>How soon a UserApi whose referenced Secret is missing is looked at again (that Secret is not watched).</summary>
    public static readonly TimeSpan MissingSecretRecheck = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    /// <remarks>
    /// A failure is recorded as a Warning Event <c>ReconcileFailed</c> (the recorder drops repeats of
    /// the same message) and rethrown, so that the runtime retries with backoff.
    /// </remarks>
    public async Task<ReconcileResult> ReconcileAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entity);
        try
        {
            return await ReconcileCoreAsync(entity, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await events.RecordAsync(entity, EventTypes.Warning, "ReconcileFailed", $"{e.GetType().Name}: {ApiErrors.Message(e)}", cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public Task DeletedAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entity);
        events.Forget(entity);
        _recorded.Forget(entity.Metadata.NamespaceProperty, UserApiNames.Workload(entity));
        firstReports.Forget(ObjectKey.Of(entity));
        LogDeleted(logger, ObjectKey.Of(entity));
        return Task.CompletedTask;
    }

    private async Task<ReconcileResult> ReconcileCoreAsync(V1Alpha1UserApi entity, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var key = ObjectKey.Of(entity);
        var report = new ReconcileReport();
        Problem? problem = null;
        V1Deployment? deployment;
        V1Ingress? ingress = null;

        var errors = UserApiValidator.Validate(entity);
        if (errors.Count > 0)
        {
            problem = new Problem(Problem.InvalidSpec, string.Join("; ", errors));
            deployment = Cached<V1Deployment>(entity, UserApiNames.Workload(entity));
        }
        else if (DesiredObjects.For(entity, PasswordGenerator.Generate()) is var desired
            && !await OwnerIsLiveAsync(entity, desired, cancellationToken).ConfigureAwait(false))
        {
            // Deleted (or being deleted) while this reconcile was queued: its children go with it
            // through garbage collection, and nothing may be made for an owner that is gone.
            LogOwnerGone(logger, key);
            return ReconcileResult.Done;
        }
        else
        {
            (report[Child.Secret], problem) = await EnsureSecretAsync(entity, desired.Secret, cancellationToken).ConfigureAwait(false);

            Problem? conflict;
            (report[Child.Deployment], deployment, conflict) = await ApplyAsync(entity, desired.Deployment, cancellationToken).ConfigureAwait(false);
            problem ??= conflict;
            (report[Child.Service], _, conflict) = await ApplyAsync(entity, desired.Service, cancellationToken).ConfigureAwait(false);
            problem ??= conflict;
            if (desired.Ingress is not null)
            {
                (report[Child.Ingress], ingress, conflict) = await ApplyAsync(entity, desired.Ingress, cancellationToken).ConfigureAwait(false);
                problem ??= conflict;
            }
            else
            {
                report[Child.Ingress] = await DeleteAsync<V1Ingress>(entity, cancellationToken).ConfigureAwait(false);
            }

            conflict = await ApplyOrDeleteAsync(entity, Child.HorizontalPodAutoscaler, desired.Autoscaler, report, cancellationToken).ConfigureAwait(false);
            problem ??= conflict;
            conflict = await ApplyOrDeleteAsync(entity, Child.PodDisruptionBudget, desired.DisruptionBudget, report, cancellationToken).ConfigureAwait(false);
            problem ??= conflict;
            conflict = await ApplyOrDeleteAsync(entity, Child.NetworkPolicy, desired.NetworkPolicy, report, cancellationToken).ConfigureAwait(false);
            problem ??= conflict;
        }

        if (report[Child.Deployment] == ChildOutcome.Created)
        {
            firstReports.DeploymentCreated(key);
        }

        var previousDegraded = Conditions.Find(entity.Status?.Conditions, Conditions.Degraded);
        var notReady = PodReadiness.Why(cache.Get<V1Pod>().ByIndex(PodReadiness.ByUserApi, key));
        var status = UserApiStatusBuilder.Build(entity, deployment, ingress, problem, timeProvider.GetUtcNow(), notReady);
        var waitFor = firstReports.Remaining(key, deployment, problem is not null);
        var statusChanged = false;
        try
        {
            if (waitFor is null)
            {
                statusChanged = await WriteStatusIfChangedAsync(entity, status, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.UnprocessableEntity)
        {
            // The API server validates the whole object on a status write; before validation
            // ratcheting (Kubernetes 1.30) an invalid spec makes every status write fail. Retrying
            // cannot help until the spec changes, so report it through an Event instead.
            var reason = ApiErrors.Message(e);
            LogStatusRejected(logger, key, reason);
            status = UserApiStatusBuilder.Build(entity, deployment, ingress, new Problem(Problem.InvalidSpec, reason), timeProvider.GetUtcNow());
            previousDegraded = null;
        }

        await RecordEventsAsync(entity, report, status, previousDegraded, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var summary = ReconcileSummary.ForLog(report, status, entity.Spec.Replicas);
        if (statusChanged || report.AnyChanged)
        {
            LogReconciled(logger, key, summary, elapsed);
        }
        else
        {
            LogUnchanged(logger, key, summary, elapsed);
        }

        return problem?.Reason == Problem.SecretNotFound ? ReconcileResult.After(MissingSecretRecheck)
            : waitFor is { } wait ? ReconcileResult.After(wait)
            : ReconcileResult.Done;
    }

    /// <summary>
    /// False when <paramref name="entity"/> is being deleted, or when this reconcile would create one
    /// of its children (one of <paramref name="desired"/> is not cached) and a GET finds it deleted or
    /// replaced by another object of the same name. The informers' caches lag behind a deletion by
    /// the length of a watch event, each kind on its own watch: when a UserApi is deleted, the garbage
    /// collector's deletion of a child can reach its cache (and queue the owner) before the owner's
    /// own deletion reaches the UserApi cache, and a child applied in that moment would name an owner
    /// that no longer exists. The GET costs one read per new UserApi (and per child put back after a
    /// deletion), none while every child is cached.
    /// </summary>
    private async Task<bool> OwnerIsLiveAsync(V1Alpha1UserApi entity, DesiredObjects desired, CancellationToken cancellationToken)
    {
        if (entity.Metadata.DeletionTimestamp is not null)
        {
            return false;
        }

        if (AllCached(entity, desired))
        {
            return true;
        }

        try
        {
            var live = await client.CustomObjects.GetNamespacedCustomObjectAsync(
                V1Alpha1UserApi.Group, V1Alpha1UserApi.Version, entity.Metadata.NamespaceProperty, V1Alpha1UserApi.Plural, entity.Metadata.Name,
                cancellationToken).ConfigureAwait(false);
            var metadata = live is JsonElement { ValueKind: JsonValueKind.Object } element && element.TryGetProperty("metadata", out var m) ? m : default;
            var uid = metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("uid", out var u) ? u.GetString() : null;
            var deleting = metadata.ValueKind == JsonValueKind.Object && metadata.TryGetProperty("deletionTimestamp", out var d) && d.ValueKind == JsonValueKind.String;
            return uid == entity.Metadata.Uid && !deleting;
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Whether every child <paramref name="desired"/> names is in the cache.</summary>
    private bool AllCached(V1Alpha1UserApi entity, DesiredObjects desired) =>
        (desired.Secret is null || Cached<V1Secret>(entity, desired.Secret.Metadata.Name) is not null)
        && Cached<V1Deployment>(entity, desired.Deployment.Metadata.Name) is not null
        && Cached<V1Service>(entity, desired.Service.Metadata.Name) is not null
        && (desired.Ingress is null || Cached<V1Ingress>(entity, desired.Ingress.Metadata.Name) is not null)
        && (desired.Autoscaler is null || Cached<V2HorizontalPodAutoscaler>(entity, desired.Autoscaler.Metadata.Name) is not null)
        && (desired.DisruptionBudget is null || Cached<V1PodDisruptionBudget>(entity, desired.DisruptionBudget.Metadata.Name) is not null)
        && (desired.NetworkPolicy is null || Cached<V1NetworkPolicy>(entity, desired.NetworkPolicy.Metadata.Name) is not null);

    private T? Cached<T>(V1Alpha1UserApi entity, string name)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        cache.Get<T>().Get(entity.Metadata.NamespaceProperty, name);

    /// <summary>
    /// The generated Secret is created once and never replaced: the MySQL data is initialised with
    /// its password. Whether it exists comes from the cache (keys only, no values); a referenced
    /// Secret is not labelled as ours, so it is read with a GET and must hold the key.
    /// </summary>
    private async Task<(ChildOutcome, Problem?)> EnsureSecretAsync(V1Alpha1UserApi entity, V1Secret? desired, CancellationToken cancellationToken)
    {
        var ns = entity.Metadata.NamespaceProperty;
        if (desired is null)
        {
            var (secretName, secretKey) = UserApiNames.PasswordSource(entity);
            var field = entity.Spec.Database.External is null ? "spec.database.passwordSecretRef" : "spec.database.external.passwordSecretRef";
            var referenced = await ReadSecretAsync(secretName, ns, cancellationToken).ConfigureAwait(false);
            return referenced is null
                ? (ChildOutcome.Blocked, new Problem(Problem.SecretNotFound, $"{field}: Secret {ns}/{secretName} not found"))
                : referenced.Data?.ContainsKey(secretKey) != true
                    ? (ChildOutcome.Blocked, new Problem(Problem.SecretNotFound, $"{field}: Secret {ns}/{secretName} has no key \"{secretKey}\""))
                    : (ChildOutcome.Referenced, null);
        }

        var secrets = cache.Get<V1Secret>();
        var existing = secrets.Get(ns, desired.Metadata.Name);
        if (existing is null)
        {
            try
            {
                var created = await client.CoreV1.CreateNamespacedSecretAsync(desired, ns, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                secrets.Remember(OwnedObjectCache.FromTyped(created, OwnedObjectCache.Secret));
                return (ChildOutcome.Created, null);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                return (ChildOutcome.Unchanged, null); // Made meanwhile (the cache is behind); its password stands.
            }
        }

        if (OwnedBySomeoneElse(entity, existing) is { } conflict)
        {
            return (ChildOutcome.Blocked, conflict);
        }

        if (existing.Data?.ContainsKey(UserApiNames.PasswordKey) != true)
        {
            // Someone removed the key: there is no password to keep, so add one.
            var patch = new V1Patch(
                new JsonObject { ["data"] = new JsonObject { [UserApiNames.PasswordKey] = Convert.ToBase64String(desired.Data[UserApiNames.PasswordKey]) } }.ToJsonString(),
                V1Patch.PatchType.MergePatch);
            var patched = await client.CoreV1.PatchNamespacedSecretAsync(patch, existing.Metadata.Name, ns, fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
            secrets.Remember(OwnedObjectCache.FromTyped(patched, OwnedObjectCache.Secret));
            return (ChildOutcome.Updated, null);
        }

        return (ChildOutcome.Unchanged, null);
    }

    private async Task<V1Secret?> ReadSecretAsync(string name, string ns, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Server-side apply (<c>PATCH</c>, <c>application/apply-patch+yaml</c>, field manager
    /// <c>userapi-operator</c>, <c>force=true</c>) of <paramref name="desired"/>, unless what this
    /// operator applied to the cached live object is what it would apply now: the digest the cache
    /// keeps of the fields it owns there (<see cref="AppliedConfiguration.OwnedDigest"/>) equals the
    /// digest of <paramref name="desired"/>. A field someone else changed or removed is no longer owned
    /// as applied, so it shows as a difference and is put back.
    /// </summary>
    private async Task<(ChildOutcome Outcome, T? Live, Problem? Conflict)> ApplyAsync<T>(V1Alpha1UserApi entity, T desired, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var informer = cache.Get<T>();
        var live = informer.Get(desired.Metadata.NamespaceProperty, desired.Metadata.Name);
        if (live is not null && OwnedBySomeoneElse(entity, live) is { } conflict)
        {
            return (ChildOutcome.Blocked, live, conflict);
        }

        var child = $"{typeof(T).Name} {ObjectKey.Of(desired)}";
        var digest = AppliedConfiguration.DesiredDigest(Json.ToNode(desired));
        if (live is not null && _recorded.IsApplied(child, digest, SlimObject.AppliedDigest(live)))
        {
            return (ChildOutcome.Unchanged, live, null);
        }

        var applied = await client.ServerSideApplyAsync(desired, FieldManager, OwnedObjectCache.Decoder<T>(), cancellationToken).ConfigureAwait(false);
        informer.Remember(applied);
        if (_recorded.Applied(child, digest, SlimObject.AppliedDigest(applied)))
        {
            LogRecordedDifferently(logger, desired.Kind, ObjectKey.Of(desired));
        }

        return (live is null ? ChildOutcome.Created : ChildOutcome.Updated, applied, null);
    }

    /// <summary>
    /// Applies <paramref name="desired"/> when it should exist, else deletes the live object of that
    /// kind; records the outcome in <paramref name="report"/> unless it is <see cref="ChildOutcome.Absent"/>
    /// (an object that is off by default, such as the autoscaler, would otherwise be named in every
    /// log line). Answers the ownership conflict, if any.
    /// </summary>
    private async Task<Problem?> ApplyOrDeleteAsync<T>(V1Alpha1UserApi entity, Child child, T? desired, ReconcileReport report, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ChildOutcome outcome;
        Problem? conflict = null;
        if (desired is not null)
        {
            (outcome, _, conflict) = await ApplyAsync(entity, desired, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            outcome = await DeleteAsync<T>(entity, cancellationToken).ConfigureAwait(false);
        }

        if (outcome != ChildOutcome.Absent)
        {
            report[child] = outcome;
        }

        return conflict;
    }

    /// <summary>
    /// Deletes the <typeparamref name="T"/> named after the UserApi when the cache holds one this
    /// UserApi controls (background propagation; a 404 means it is already gone).
    /// </summary>
    private async Task<ChildOutcome> DeleteAsync<T>(V1Alpha1UserApi entity, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var name = UserApiNames.Workload(entity);
        var ns = entity.Metadata.NamespaceProperty;
        var live = Cached<T>(entity, name);
        if (live is null || !IsControlledBy(entity, live))
        {
            return ChildOutcome.Absent; // An object we do not control is not ours to delete.
        }

        // Only a DELETE the server took (or one that found nothing) makes the cache show the object
        // gone; after a failure (5xx, 429, a timeout) it still exists, and the retry must delete it.
        try
        {
            await client.DeleteAsync<T>(ns, name, cancellationToken).ConfigureAwait(false);
            cache.Get<T>().Forget(ns, name);
            return ChildOutcome.Deleted;
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            cache.Get<T>().Forget(ns, name);
            return ChildOutcome.Absent;
        }
    }

    private static bool IsControlledBy(V1Alpha1UserApi entity, IKubernetesObject<V1ObjectMeta> child) =>
        child.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Uid == entity.Metadata.Uid) == true;

    private static Problem? OwnedBySomeoneElse(V1Alpha1UserApi entity, IKubernetesObject<V1ObjectMeta> live)
    {
        var controller = live.Metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true);
        return controller is null || controller.Uid == entity.Metadata.Uid
            ? null
            : new Problem(Problem.OwnershipConflict, $"{live.Kind} {live.Metadata.NamespaceProperty}/{live.Metadata.Name} is controlled by {controller.Kind} {controller.Name}, not by this UserApi");
    }

    /// <summary>
    /// Writes <paramref name="status"/> through the status subresource (a JSON merge patch of the whole
    /// status, fields that disappeared set to null) unless it equals the current one (no status churn).
    /// </summary>
    private async Task<bool> WriteStatusIfChangedAsync(V1Alpha1UserApi entity, UserApiStatus status, CancellationToken cancellationToken)
    {
        var current = entity.Status is null ? new JsonObject() : Json.ToNode(entity.Status).AsObject();
        var desired = Json.ToNode(status).AsObject();
        if (JsonNode.DeepEquals(current, desired))
        {
            return false;
        }

        foreach (var (field, _) in current)
        {
            if (!desired.ContainsKey(field))
            {
                desired[field] = null;
            }
        }

        var patch = new V1Patch(new JsonObject { ["status"] = desired }.ToJsonString(), V1Patch.PatchType.MergePatch);
        var stored = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            patch, V1Alpha1UserApi.Group, V1Alpha1UserApi.Version, entity.Metadata.NamespaceProperty, V1Alpha1UserApi.Plural, entity.Metadata.Name,
            fieldManager: FieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (stored is JsonElement element)
        {
            cache.Get<V1Alpha1UserApi>().Remember(KubernetesJson.Deserialize<V1Alpha1UserApi>(element));
        }

        return true;
    }

    private async Task RecordEventsAsync(V1Alpha1UserApi entity, ReconcileReport report, UserApiStatus status, V1Condition? previousDegraded, CancellationToken cancellationToken)
    {
        if (ReconcileSummary.ForEvent(entity, report) is var (reason, message))
        {
            await events.RecordAsync(entity, EventTypes.Normal, reason, message, cancellationToken).ConfigureAwait(false);
        }

        var degraded = Conditions.Find(status.Conditions, Conditions.Degraded);
        if (degraded?.Status == Conditions.True
            && (previousDegraded?.Status != Conditions.True || previousDegraded.Reason != degraded.Reason || previousDegraded.Message != degraded.Message))
        {
            await events.RecordAsync(entity, EventTypes.Warning, degraded.Reason, degraded.Message, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "The API server records the {Kind} {Key} otherwise than applied (it set or changed an applied field); later reconciles compare with its record")]
    private static partial void LogRecordedDifferently(ILogger logger, string kind, string key);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "Skipped {Key}: it was deleted while its reconcile waited; its objects go with it")]
    private static partial void LogOwnerGone(ILogger logger, string key);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Reconciled {Key}: {Summary} ({ElapsedMs:0} ms)")]
    private static partial void LogReconciled(ILogger logger, string key, string summary, double elapsedMs);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Reconciled {Key}, nothing changed: {Summary} ({ElapsedMs:0} ms)")]
    private static partial void LogUnchanged(ILogger logger, string key, string summary, double elapsedMs);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "The API server rejected the status of {Key}: {Reason}")]
    private static partial void LogStatusRejected(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "UserApi {Key} deleted; whatever it owned goes with it (owner references)")]
    private static partial void LogDeleted(ILogger logger, string key);
}
