using MySql.Data.MySqlClient;

namespace UserApiService.Data;

/// <summary>
/// The rows of an executed <c>SELECT user_id, username, email FROM Users ORDER BY user_id</c>, read
/// from the server one at a time while they are enumerated: memory stays flat however many rows the
/// table holds. Made by <see cref="UserRepository.OpenAllAsync"/>; enumerable once.
/// </summary>
/// <remarks>
/// Holds a <see cref="DatabaseGate"/> slot, a connection of the <see cref="ConnectionPool"/> and the
/// reader of its prepared statement; all are released when the enumeration ends (completed, failed or abandoned) or when
/// the stream is disposed, whichever comes first. The connection goes back to the pool when its reader
/// closed cleanly (the driver reads any rows left unread first), and is closed otherwise. A failure
/// while reading rows closes the idle pooled connections and throws
/// <see cref="DatabaseUnavailableException"/>; by then the HTTP response has usually started, so the
/// server aborts the response instead of sending a 503.
/// </remarks>
public sealed class UserStream : IAsyncEnumerable<User>, IAsyncDisposable
{
    private readonly UserRepository _repository;
    private readonly PooledConnection _connection;
    private readonly MySqlDataReader _reader;
    private DatabaseGate.Lease? _lease;
    private int _enumerated;
    private bool _failed;

    internal UserStream(
        UserRepository repository,
        DatabaseGate.Lease lease,
        PooledConnection connection,
        MySqlDataReader reader)
    {
        _repository = repository;
        _lease = lease;
        _connection = connection;
        _reader = reader;
    }

    /// <summary>Yields the users in <c>user_id</c> order, reading each row only when asked for it.</summary>
    /// <param name="cancellationToken">Stops the enumeration between rows.</param>
    /// <returns>The enumerator; disposing it releases the connection and the gate slot.</returns>
    /// <exception cref="InvalidOperationException">The stream was already enumerated or disposed.</exception>
    /// <exception cref="DatabaseUnavailableException">Reading a row failed (raised during enumeration).</exception>
    public IAsyncEnumerator<User> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0 || _lease is null)
        {
            throw new InvalidOperationException("A UserStream can be enumerated only once.");
        }

        return ReadRowsAsync(cancellationToken);
    }

    /// <summary>
    /// Releases the reader, gives the connection back to the pool (or closes it after a failure) and
    /// releases the gate slot; later calls do nothing.
    /// </summary>
    /// <returns>A completed task (the driver closes synchronously).</returns>
    public ValueTask DisposeAsync()
    {
        var lease = Interlocked.Exchange(ref _lease, null);
        if (lease is null)
        {
            return ValueTask.CompletedTask;
        }

        var healthy = !_failed;
        try
        {
            _reader.Dispose();
        }
#pragma warning disable CA1031 // A broken connection may throw on close; the slot must still be released.
        catch (Exception)
#pragma warning restore CA1031
        {
            healthy = false;
        }
        finally
        {
            _repository.Release(_connection, healthy);
            lease.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private async IAsyncEnumerator<User> ReadRowsAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                User user;
                try
                {
                    if (!_reader.Read())
                    {
                        break;
                    }

                    user = UserRepository.ReadUser(_reader);
                }
                catch (Exception exception) when (UserRepository.IsDatabaseFailure(exception))
                {
                    _failed = true;
                    throw _repository.Fail(exception, "list users");
                }

                yield return user;
            }
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }
}
