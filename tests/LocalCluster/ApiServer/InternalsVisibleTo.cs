using System.Runtime.CompilerServices;

// The fake API server's tests run local-cluster's parts against it in process: the metrics API
// (LocalCluster.Metrics) behind the aggregation layer, and the scheduler's binders.
[assembly: InternalsVisibleTo("KubeApiFake.Tests")]
