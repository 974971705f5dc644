namespace UserApiOperator.Kubernetes.Models;

/// <summary>
/// The <c>Status</c> body the API server returns with a failed request (<c>metav1.Status</c>):
/// the HTTP code, a CamelCase <see cref="Reason"/> (<c>NotFound</c>, <c>Conflict</c>, <c>Expired</c>,
/// <c>Invalid</c>...), a message and, for validation errors, the causes per field.
/// </summary>
public sealed class V1Status
{
    /// <summary><c>Success</c> or <c>Failure</c>.</summary>
    public string? Status { get; set; }

    /// <summary>Human-readable description.</summary>
    public string? Message { get; set; }

    /// <summary>Machine-readable reason, for example <c>NotFound</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>Details: the object concerned and the causes.</summary>
    public V1StatusDetails? Details { get; set; }

    /// <summary>HTTP status code.</summary>
    public int? Code { get; set; }
}

/// <summary>Details of a <see cref="V1Status"/>.</summary>
public sealed class V1StatusDetails
{
    /// <summary>Name of the object concerned.</summary>
    public string? Name { get; set; }

    /// <summary>Kind or resource of the object concerned.</summary>
    public string? Kind { get; set; }

    /// <summary>Individual causes, one per invalid field for <c>Invalid</c>.</summary>
    public IList<V1StatusCause>? Causes { get; set; }
}

/// <summary>One cause of a failure, for example an invalid field.</summary>
public sealed class V1StatusCause
{
    /// <summary>Machine-readable reason, for example <c>FieldValueInvalid</c>.</summary>
    public string? Reason { get; set; }

    /// <summary>Human-readable description.</summary>
    public string? Message { get; set; }

    /// <summary>Path of the field at fault, for example <c>spec.replicas</c>.</summary>
    public string? Field { get; set; }
}
