using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace KubeApiFake;

/// <summary>
/// The fake's storage: every object as JSON, keyed by <see cref="ResourceKey"/>, one global
/// monotonically increasing resourceVersion, the served resource types, and the watch history.
/// One lock guards everything, so each write is atomic and events are emitted in resourceVersion
/// order. The public members are test controls that bypass HTTP (no validation, no optimistic
/// concurrency, no status-subresource isolation) but still assign server fields, default, bump
/// generation/resourceVersion, emit watch events and track managed fields as manager
/// <c>kube-api-fake</c>. Every returned object is a private copy.
/// </summary>
public sealed partial class ResourceStore
{
    /// <summary>Field manager recorded for writes through these test accessors.</summary>
    public const string TestManager = "kube-api-fake";

    private readonly Lock _lock = new();
    private readonly Dictionary<ResourceKey, StoredObject> _objects = [];
    private readonly Dictionary<string, ResourceKey> _byUid = new(StringComparer.Ordinal);
    private readonly List<ResourceType> _types = [];
    private readonly Dictionary<string, List<ResourceType>> _crdTypes = new(StringComparer.Ordinal);
    private readonly WatchHub _hub;
    private readonly FakeKubeApiServerOptions _options;
    private readonly ChangeSignal _signal;
    private long _resourceVersion;
    private int _serviceIps;

    internal ResourceStore(FakeKubeApiServerOptions options, ChangeSignal signal)
    {
        _options = options;
        _signal = signal;
        _hub = new WatchHub(options.HistoryLimit);
        _types.AddRange(KnownResources.All);
        if (options.EmulateCluster) _types.AddRange(KnownResources.ClusterKinds);
        foreach (var extra in options.AdditionalResources) RegisterResource(extra);
        if (options.SeedDefaultNamespaces)
        {
            foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
            {
                Put(KnownResources.Namespaces, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } });
            }
        }
    }

    internal sealed class StoredObject(ResourceKey key, JsonObject obj, byte[] json, long resourceVersion, string uid)
    {
        public ResourceKey Key { get; } = key;

        /// <summary>Never mutated after storing; watch history shares it.</summary>
        public JsonObject Object { get; } = obj;

        public byte[] Json { get; } = json;

        public long ResourceVersion { get; } = resourceVersion;

        public string Rv => ResourceVersion.ToString(CultureInfo.InvariantCulture);

        public string Uid { get; } = uid;
    }

    /// <summary>The current (latest) global resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock) return _resourceVersion;
        }
    }

    /// <summary>Every served resource type (built-ins, registered ones, and those of stored CRDs).</summary>
    public IReadOnlyList<ResourceType> ResourceTypes
    {
        get
        {
            lock (_lock) return [.. _types];
        }
    }

    /// <summary>Number of objects currently stored (all resources).</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _objects.Count;
        }
    }

    internal int ActiveWatchCount
    {
        get
        {
            lock (_lock) return _hub.WatcherCount;
        }
    }

    /// <summary>Serves an additional resource type (replaces one with the same group/version/plural).</summary>
    public void RegisterResource(ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (_lock)
        {
            _types.RemoveAll(t => t.Group == type.Group && t.Version == type.Version && t.Plural == type.Plural);
            _types.Add(type);
        }
        _signal.Pulse();
    }

    /// <summary>The served type for a group/version/plural, or null.</summary>
    public ResourceType? FindResource(string group, string version, string plural)
    {
        lock (_lock) return FindType(group, version, plural);
    }

    private ResourceType? FindType(string group, string version, string plural) =>
        _types.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    private ResourceType Require(GroupVersionResource gvr) =>
        FindType(gvr.Group, gvr.Version, gvr.Resource) ?? throw new ArgumentException($"resource {gvr} is not served", nameof(gvr));

    /// <summary>Gets a copy of an object, or null when absent.</summary>
    public JsonObject? Get(GroupVersionResource gvr, string? ns, string name)
    {
        lock (_lock)
        {
            var rt = Require(gvr);
            return Find(rt, ns, name) is { } so ? Output(rt, so.Object) : null;
        }
    }

    /// <summary>Gets a copy of an object, or null when absent.</summary>
    public JsonObject? Get(string group, string version, string plural, string? ns, string name) =>
        Get(new GroupVersionResource(group, version, plural), ns, name);

    /// <summary>Lists copies of the objects of a resource (one namespace, or all when <paramref name="ns"/> is null), in name order.</summary>
    public IReadOnlyList<JsonObject> List(GroupVersionResource gvr, string? ns = null, string? labelSelector = null)
    {
        var selector = LabelSelector.Parse(labelSelector);
        lock (_lock)
        {
            var rt = Require(gvr);
            return Matching(rt, ns, selector, FieldSelector.Everything).Select(so => Output(rt, so.Object)).ToList();
        }
    }

    /// <summary>
    /// Creates or replaces an object (namespace from the object, <c>default</c> if unset). Server
    /// fields are assigned, defaults applied, validation skipped; the given <c>status</c> is kept.
    /// </summary>
    public JsonObject Put(GroupVersionResource gvr, JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var copy = (JsonObject)obj.DeepClone();
        lock (_lock)
        {
            var rt = Require(gvr);
            CheckTypeMeta(rt, copy);
            var meta = JsonUtil.Metadata(copy);
            var name = JsonUtil.Str(meta["name"]);
            var ns = rt.Namespaced ? JsonUtil.Str(meta["namespace"]) ?? "default" : null;
            var options = new WriteOptions { Raw = true, Manager = TestManager };
            var existing = name is null ? null : Find(rt, ns, name);
            return existing is null
                ? CreateLocked(rt, ns, copy, options, ownershipDone: false).Body
                : CommitUpdateLocked(rt, existing, copy, options, statusWrite: false, ownershipDone: false).Body;
        }
    }

    /// <summary>
    /// Read-modify-write of a whole object (status included). <paramref name="mutate"/> runs on a
    /// copy outside the lock and is retried if the object changed meanwhile. Returns the result, or null when absent.
    /// </summary>
    public JsonObject? Update(GroupVersionResource gvr, string? ns, string name, Action<JsonObject> mutate) =>
        Mutate(gvr, ns, name, mutate, statusOnly: false);

    /// <summary>Like <see cref="Update"/> but only the <c>.status</c> of the mutated copy is kept (a status-subresource write).</summary>
    public JsonObject? UpdateStatus(GroupVersionResource gvr, string? ns, string name, Action<JsonObject> mutate) =>
        Mutate(gvr, ns, name, mutate, statusOnly: true);

    /// <summary>Like <see cref="Update"/> but only the <c>.status</c> of the mutated copy is kept (a status-subresource write).</summary>
    public JsonObject? UpdateStatus(string group, string version, string plural, string? ns, string name, Action<JsonObject> mutate) =>
        Mutate(new GroupVersionResource(group, version, plural), ns, name, mutate, statusOnly: true);

    private JsonObject? Mutate(GroupVersionResource gvr, string? ns, string name, Action<JsonObject> mutate, bool statusOnly)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        while (true)
        {
            JsonObject copy;
            long seen;
            ResourceType rt;
            lock (_lock)
            {
                rt = Require(gvr);
                if (Find(rt, ns, name) is not { } so) return null;
                copy = Output(rt, so.Object);
                seen = so.ResourceVersion;
            }
            mutate(copy);
            lock (_lock)
            {
                if (Find(rt, ns, name) is not { } so) return null;
                if (so.ResourceVersion != seen) continue;
                var options = new WriteOptions { Raw = true, Manager = TestManager };
                return CommitUpdateLocked(rt, so, copy, options, statusOnly, ownershipDone: false).Body;
            }
        }
    }

    /// <summary>
    /// Deletes an object like an API DELETE (finalizers honoured, owner-reference cascade).
    /// Returns false when it did not exist.
    /// </summary>
    public bool Delete(GroupVersionResource gvr, string? ns, string name)
    {
        lock (_lock)
        {
            var rt = Require(gvr);
            if (Find(rt, ns, name) is not { } so) return false;
            DeleteObjectLocked(so, "Background");
            return true;
        }
    }

    /// <summary>Forgets the watch history: any watch resuming from an older resourceVersion gets 410 Expired.</summary>
    internal void ExpireHistory()
    {
        lock (_lock) _hub.Expire(_resourceVersion);
    }

    internal void DropWatches()
    {
        lock (_lock)
        {
            foreach (var w in _hub.Snapshot()) w.Drop();
        }
    }

    internal void CompleteWatches()
    {
        lock (_lock)
        {
            foreach (var w in _hub.Snapshot()) w.Complete();
        }
    }

    /// <summary>Ends every watch as its timeout would: a last BOOKMARK (current resourceVersion) to each that allows them, then the end.</summary>
    internal void TimeOutWatches()
    {
        lock (_lock)
        {
            foreach (var w in _hub.Snapshot())
            {
                // Under the lock every event up to _resourceVersion has been offered to w already, and
                // the bookmark is queued behind them, so it never claims a version the watch has not seen.
                if (w.AllowsBookmarks) w.EnqueueRaw(BookmarkLine(w.Type, _resourceVersion));
                w.Complete();
            }
        }
    }

    // ---- reads for the HTTP layer ----

    internal ResourceType? Resolve(string group, string version, string plural)
    {
        lock (_lock) return FindType(group, version, plural);
    }

    internal JsonObject GetForApi(ResourceType rt, string? ns, string name)
    {
        lock (_lock)
        {
            return Find(rt, ns, name) is { } so ? Output(rt, so.Object) : throw StatusResponses.NotFound(rt, name);
        }
    }

    internal JsonObject ListForApi(ResourceType rt, string? ns, LabelSelector labels, FieldSelector fields, int? limit, string? continueToken)
    {
        lock (_lock)
        {
            var items = Matching(rt, ns, labels, fields).ToList();
            if (!string.IsNullOrEmpty(continueToken))
            {
                var start = DecodeContinue(continueToken);
                items = items.Where(i => string.CompareOrdinal(ContinueKey(i.Key), start) > 0).ToList();
            }
            var meta = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) };
            if (limit is > 0 && items.Count > limit)
            {
                var remaining = items.Count - limit.Value;
                items = items.Take(limit.Value).ToList();
                meta["continue"] = EncodeContinue(ContinueKey(items[^1].Key));
                meta["remainingItemCount"] = remaining;
            }
            return ListOf(rt, meta, items.Select(so => so.Object));
        }
    }

    // NUL sorts before every character allowed in names, so ordinal order of these keys is (namespace, name) order.
    private static string ContinueKey(ResourceKey key) => key.Namespace + "\u0000" + key.Name;

    private string EncodeContinue(string start)
    {
        var token = new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = _resourceVersion, ["start"] = start };
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonUtil.ToText(token)));
    }

    private static string DecodeContinue(string token)
    {
        try
        {
            var json = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return JsonUtil.Str((JsonNode.Parse(json) as JsonObject)?["start"]) ?? throw new FormatException("no start");
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            throw StatusResponses.BadRequest($"continue key is not valid: {e.Message}");
        }
    }

    // ---- watches ----

    internal Watcher OpenWatch(ResourceType rt, string? ns, LabelSelector labels, FieldSelector fields, string? resourceVersion,
        bool sendInitialEvents, bool bookmarks)
    {
        lock (_lock)
        {
            var watcher = new Watcher(rt, ns, labels, fields) { AllowsBookmarks = bookmarks };
            if (string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0" || sendInitialEvents)
            {
                foreach (var so in Matching(rt, ns, labels, fields)) watcher.Enqueue("ADDED", so.Object, so.Json);
                if (sendInitialEvents && bookmarks) watcher.EnqueueRaw(BookmarkLine(rt, _resourceVersion, initialEventsEnd: true));
            }
            else
            {
                if (!long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                {
                    throw StatusResponses.BadRequest($"resourceVersion: Invalid value: \"{resourceVersion}\": strconv.ParseUint: parsing \"{resourceVersion}\": invalid syntax");
                }
                if (from < _hub.Floor)
                {
                    throw StatusResponses.Expired($"too old resource version: {from} ({_hub.Floor})");
                }
                foreach (var ev in _hub.Since(from)) watcher.Offer(ev);
            }
            _hub.Add(watcher);
            _signal.Pulse();
            return watcher;
        }
    }

    internal void CloseWatch(Watcher watcher)
    {
        lock (_lock)
        {
            if (!_hub.Remove(watcher)) return;
        }
        _signal.Pulse();
    }

    /// <summary>The resourceVersion a bookmark may carry now, or null while events are still queued for this watch.</summary>
    internal long? BookmarkVersion(Watcher watcher)
    {
        lock (_lock) return watcher.Reader.Count == 0 ? _resourceVersion : null;
    }

    internal static byte[] BookmarkLine(ResourceType rt, long resourceVersion, bool initialEventsEnd = false)
    {
        var meta = new JsonObject { ["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd) meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        return Watcher.Line("BOOKMARK", new JsonObject { ["kind"] = rt.Kind, ["apiVersion"] = rt.ApiVersion, ["metadata"] = meta });
    }

    // ---- helpers ----

    private StoredObject? Find(ResourceType rt, string? ns, string name) =>
        _objects.GetValueOrDefault(KeyOf(rt, ns, name));

    private static ResourceKey KeyOf(ResourceType rt, string? ns, string name) =>
        new(rt.Group, rt.Plural, rt.Namespaced ? ns ?? "" : "", name);

    private IEnumerable<StoredObject> Matching(ResourceType rt, string? ns, LabelSelector labels, FieldSelector fields) =>
        _objects.Values
            .Where(so => so.Key.Group == rt.Group && so.Key.Resource == rt.Plural && (ns is null || !rt.Namespaced || so.Key.Namespace == ns))
            .Where(so => labels.Matches(JsonUtil.Labels(so.Object)) && fields.Matches(so.Object))
            .OrderBy(so => so.Key, ResourceKey.Order)
            .ToList();

    /// <summary>A private copy as served for <paramref name="rt"/>'s version.</summary>
    private static JsonObject Output(ResourceType rt, JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy["apiVersion"] = rt.ApiVersion;
        copy["kind"] = rt.Kind;
        JsonUtil.Normalize(copy);
        return copy;
    }

    private string Now() => JsonUtil.FormatTime(_options.TimeProvider.GetUtcNow());

    private string AllocateClusterIp()
    {
        var n = 10 + _serviceIps++;
        return $"10.96.{n / 250 % 250}.{n % 250 + 1}";
    }

    /// <summary>A <c>&lt;Kind&gt;List</c> of <paramref name="objects"/> as the API server renders it: typed lists of built-in kinds do not repeat kind/apiVersion per item.</summary>
    private static JsonObject ListOf(ResourceType rt, JsonObject metadata, IEnumerable<JsonObject> objects)
    {
        var array = new JsonArray();
        foreach (var obj in objects)
        {
            var item = Output(rt, obj);
            if (!rt.IsCustomResource)
            {
                item.Remove("kind");
                item.Remove("apiVersion");
            }
            array.Add(item);
        }
        return new JsonObject
        {
            ["kind"] = rt.ListKind,
            ["apiVersion"] = rt.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = array,
        };
    }
}
