using System.Diagnostics.Tracing;
using Prometheus;

namespace UserApiService.Hosting;

/// <summary>
/// The Prometheus registry of one application instance, served at <c>/metrics</c>, with what
/// prometheus-net would otherwise put in its process-wide default registry: process figures
/// (<c>process_*</c>, <c>dotnet_*</c>), the .NET event counters (<c>system_runtime_*</c>,
/// <c>microsoft_aspnetcore_*</c>, ...) and the .NET meters of MySqlConnector (its pool figures,
/// <c>mysqlconnector_db_client_connections_*{pool_name}</c>) and of the runtime. The HTTP request
/// histogram is added by <c>UseHttpMetrics</c> through <see cref="Factory"/>.
/// </summary>
/// <remarks>
/// One registry per instance, so that two instances in one process (the tests run many) each count
/// only their own requests. The meters and event counters they listen to are process-wide all the
/// same: MySqlConnector's pool figures tell pools apart by their <c>pool_name</c> label only
/// (<c>MYSQL_POOL_NAME</c>), and a listener sees only the changes made after it started, which is why
/// this starts listening as the application is built, before its pool opens a connection.
/// </remarks>
public sealed class ApplicationMetrics : IDisposable
{
    private readonly IDisposable _meters;
    private readonly IDisposable _eventCounters;

    /// <summary>Creates the registry and starts listening to the meters and event counters.</summary>
    public ApplicationMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
        _eventCounters = EventCounterAdapter.StartListening(new EventCounterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = Factory,
            // Counters only. The adapter's default, every event at Informational and above, also has
            // ASP.NET Core's hosting and Kestrel's event sources send RequestStart and RequestStop to
            // the listener for every request: two events each with their strings and payload, which
            // the adapter then ignores (about a third of what /status allocated). Counter payloads are
            // written at LogAlways, which every level lets through (EventCounter's CounterGroup,
            // src/libraries/System.Private.CoreLib/src/System/Diagnostics/Tracing/CounterGroup.cs).
            EventSourceSettingsProvider = static _ => new EventCounterAdapterEventSourceSettings
            {
                MinimumLevel = EventLevel.Critical,
            },
        });
        // Only the driver's pool figures and the runtime's: by default the adapter also listens to
        // ASP.NET Core's and Kestrel's meters, which then record a second request-duration histogram
        // per request next to UseHttpMetrics' one. And it deletes a series not updated for 5 minutes,
        // which turns an up-down counter (db.client.connections.usage) wrong after an idle spell: its
        // next change would start again from 0. The driver's series are few and fixed, so keep them for
        // the longest prometheus-net allows, a day. Every readiness probe updates the readiness pool's;
        // the request pool's change with requests, and with MYSQL_MIN_POOL_SIZE 0 (the default) an idle
        // pool closes its connections after 180 s, so a series that expires after a quiet day is at 0
        // and rightly starts again from there. With connections kept open while idle it would not.
        _meters = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = Factory,
            InstrumentFilterPredicate = static instrument => instrument.Meter.Name is "MySqlConnector" or "System.Runtime",
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
    }

    /// <summary>The instance's registry: what <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates metrics in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Stops listening to the meters and event counters (the registry keeps its last values).</summary>
    public void Dispose()
    {
        _meters.Dispose();
        _eventCounters.Dispose();
    }
}
