using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace UserApiOperator.Runtime.Watcher;

/// <summary>
/// The manager's shared cache (controller-runtime's <c>cache.Cache</c>): one <see cref="Informer{T}"/>
/// per kind, created when a controller first declares the kind (<c>For</c>, <c>Owns</c>) and read by
/// reconciles instead of a GET per object. Runs on every replica, leader or not, so a standby has a
/// warm cache; <see cref="HasSynced"/> is what <c>/readyz</c> reports.
/// </summary>
/// <param name="client">API access for the informers' lists and watches.</param>
/// <param name="options">Namespace (null: all) and timings shared by every informer.</param>
/// <param name="loggers">Informer loggers.</param>
public sealed partial class InformerCache(IKubernetes client, InformerOptions options, ILoggerFactory loggers)
{
    private readonly Dictionary<Type, IInformer> _informers = [];
    private readonly ILogger _logger = loggers.CreateLogger("UserApiOperator.Informer");

    /// <summary>Every informer, in the order they were declared.</summary>
    public IReadOnlyCollection<IInformer> Informers
    {
        get
        {
            lock (_informers)
            {
                return _informers.Values.ToList();
            }
        }
    }

    /// <summary>
    /// Raised for each object an informer skipped because it cannot be decoded (see
    /// <see cref="UndecodableObject"/>); the cache has already logged a Warning naming it. Handlers
    /// run on the informer's task and must not block.
    /// </summary>
    public event Action<UndecodableObject>? Undecodable;

    /// <summary>True once every informer has filled its cache.</summary>
    public bool HasSynced => Informers.All(i => i.HasSynced);

    /// <summary>
    /// The informer of <typeparamref name="T"/>, created on first use with <paramref name="labelSelector"/>
    /// and <paramref name="transform"/> (later calls return the existing one and ignore both).
    /// </summary>
    /// <typeparam name="T">Kind to cache; see <see cref="KubernetesListWatch.For{T}"/> for the supported ones.</typeparam>
    /// <param name="labelSelector">Only objects with these labels (<c>key=value,...</c>); null for all.</param>
    /// <param name="transform">Trims each object before it is cached (<see cref="Transforms"/>); null keeps it whole.</param>
    /// <param name="decode">Reads each object from the API server's JSON (see <see cref="KubernetesListWatch.For{T}"/>); null reads it whole.</param>
    public Informer<T> GetOrAdd<T>(string? labelSelector = null, Func<T, T>? transform = null, Func<System.Text.Json.JsonElement, T>? decode = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (_informers)
        {
            if (_informers.TryGetValue(typeof(T), out var existing))
            {
                return (Informer<T>)existing;
            }

            var kind = typeof(T).GetCustomAttributes(typeof(KubernetesEntityAttribute), false).OfType<KubernetesEntityAttribute>().FirstOrDefault()?.Kind ?? typeof(T).Name;
            var informer = new Informer<T>(kind, KubernetesListWatch.For(client, options.Namespace, OnUndecodable, decode), options with { LabelSelector = labelSelector }, transform, _logger);
            _informers[typeof(T)] = informer;
            return informer;
        }
    }

    private void OnUndecodable(UndecodableObject obj)
    {
        LogUndecodable(_logger, obj.Kind, obj.Key, obj.ResourceVersion, obj.Error);
        Undecodable?.Invoke(obj);
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Skipping {Kind} {Key} (resourceVersion {ResourceVersion}): it cannot be decoded ({Error}); fix or delete it")]
    private static partial void LogUndecodable(ILogger logger, string kind, string key, string? resourceVersion, string error);

    /// <summary>The informer of <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">No controller declared <typeparamref name="T"/>.</exception>
    public Informer<T> Get<T>()
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        lock (_informers)
        {
            return _informers.TryGetValue(typeof(T), out var informer)
                ? (Informer<T>)informer
                : throw new InvalidOperationException($"No informer of {typeof(T).Name}: declare it with For or Owns.");
        }
    }

    /// <summary>Runs every informer until <paramref name="cancellationToken"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Informers.Select(i => Task.Run(() => i.RunAsync(cancellationToken), CancellationToken.None)));

    /// <summary>Completes once every informer has filled its cache.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Informers.Select(i => i.WaitForSyncAsync(cancellationToken)));
}
