namespace KubeApiFake;

/// <summary>Per-request options of a write (query parameters and where it comes from).</summary>
internal sealed class WriteOptions
{
    /// <summary>Field manager: <c>?fieldManager=</c>, else the User-Agent's product token, else <c>unknown</c>.</summary>
    public string Manager { get; init; } = "unknown";

    /// <summary>True when <c>?fieldManager=</c> was given (required for apply).</summary>
    public bool ExplicitManager { get; init; }

    /// <summary><c>?dryRun=All</c>: validate and answer, store nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary><c>?force=true</c> for apply.</summary>
    public bool Force { get; init; }

    /// <summary><c>?fieldValidation=</c> Strict, Warn (default) or Ignore; affects unknown fields of custom resources.</summary>
    public string FieldValidation { get; init; } = "Warn";

    /// <summary>Test accessor write: no validation, no status-subresource isolation, no optimistic concurrency.</summary>
    public bool Raw { get; init; }

    /// <summary>Warnings to return in <c>Warning</c> headers.</summary>
    public List<string> Warnings { get; } = [];
}

/// <summary>Options of a DELETE (query parameters or a DeleteOptions body).</summary>
/// <param name="Propagation">Background (default), Foreground (treated like Background) or Orphan.</param>
/// <param name="DryRun">Answer without deleting.</param>
/// <param name="PreconditionUid">Required uid, or null.</param>
/// <param name="PreconditionResourceVersion">Required resourceVersion, or null.</param>
internal sealed record DeleteOptions(string Propagation, bool DryRun, string? PreconditionUid, string? PreconditionResourceVersion)
{
    public static DeleteOptions Default { get; } = new("Background", false, null, null);

    /// <summary>
    /// <c>gracePeriodSeconds</c>: how long the object may take to go (Pods: the kubelet's
    /// termination); null when not given (a Pod's own <c>terminationGracePeriodSeconds</c> then).
    /// </summary>
    public long? GracePeriodSeconds { get; init; }
}
