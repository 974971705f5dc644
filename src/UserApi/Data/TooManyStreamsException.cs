namespace UserApiService.Data;

/// <summary>
/// Every <c>GET /users</c> stream slot (<see cref="DatabaseOptions.MaxStreams"/>) stayed taken for
/// <see cref="DatabaseOptions.ConnectTimeoutSeconds"/>. Answered, before the response starts, with
/// HTTP 503 <c>{"detail":"Too many concurrent /users requests"}</c> and <c>Retry-After: 1</c>; the
/// message goes to the log only.
/// </summary>
public sealed class TooManyStreamsException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public TooManyStreamsException()
        : base("Every /users stream slot is taken.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened, for the log (never sent to clients).</param>
    public TooManyStreamsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened, for the log (never sent to clients).</param>
    /// <param name="innerException">The cause, if any.</param>
    public TooManyStreamsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
