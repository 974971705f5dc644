namespace UserApiService.Data;

/// <summary>
/// The database could not serve a request: it is down, unreachable, refused the login, lacks the
/// <c>Users</c> table, or every connection stayed busy. Answered with HTTP 503
/// <c>{"detail":"Database unavailable"}</c>; the message and inner exception go to the log only.
/// </summary>
public sealed class DatabaseUnavailableException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public DatabaseUnavailableException()
        : base("The database is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, for the log (never sent to clients).</param>
    public DatabaseUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, for the log (never sent to clients).</param>
    /// <param name="innerException">The driver's exception.</param>
    public DatabaseUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
