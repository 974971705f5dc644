using System.Runtime.CompilerServices;

// The unit tests of the scheduler, the disruption and autoscaling controllers and the metrics shapes.
[assembly: InternalsVisibleTo("LocalCluster.Tests")]
