namespace UserApiOperator.Kubernetes.Models;

/// <summary>A container health check; exactly one action (HTTP GET or TCP connect) is set. Times in seconds.</summary>
public sealed class V1Probe
{
    /// <summary>HTTP GET; success is a status in 200..399.</summary>
    public V1HttpGetAction? HttpGet { get; set; }

    /// <summary>TCP connect; success is an open connection.</summary>
    public V1TcpSocketAction? TcpSocket { get; set; }

    /// <summary>Seconds after container start before the first probe.</summary>
    public int? InitialDelaySeconds { get; set; }

    /// <summary>Seconds between probes.</summary>
    public int? PeriodSeconds { get; set; }

    /// <summary>Seconds after which a probe attempt times out.</summary>
    public int? TimeoutSeconds { get; set; }

    /// <summary>Consecutive failures after which the probe counts as failed.</summary>
    public int? FailureThreshold { get; set; }
}

/// <summary>An HTTP GET probe action.</summary>
public sealed class V1HttpGetAction
{
    /// <summary>Request path, for example <c>/status</c>.</summary>
    public required string Path { get; set; }

    /// <summary>Port number or container port name.</summary>
    public required IntOrString Port { get; set; }
}

/// <summary>A TCP connect probe action.</summary>
public sealed class V1TcpSocketAction
{
    /// <summary>Port number or container port name.</summary>
    public required IntOrString Port { get; set; }
}
