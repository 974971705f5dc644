using MySqlConnector;

namespace UserApiService.Data;

/// <summary>
/// The rows of an executed <c>SELECT user_id, username, email FROM Users ORDER BY user_id</c>, read
/// from the server as they are enumerated: memory stays flat however many rows the table holds. Made
/// by <see cref="UserRepository.OpenAllAsync"/>; enumerable once.
/// </summary>
/// <remarks>
/// Holds a pooled connection, the command, its reader and a stream slot of the repository (see
/// <see cref="DatabaseOptions.MaxStreams"/>); all are released when the enumeration ends (completed,
/// failed or abandoned) or when the stream is disposed, whichever comes first. Disposing
/// the reader reads any rows left unread, so the connection goes back to the pool ready for its next
/// user; a connection whose socket failed is dropped by the driver instead. A failure while reading
/// rows throws <see cref="DatabaseUnavailableException"/>; by then the HTTP response has usually
/// started, so the server aborts the response instead of sending a 503.
/// </remarks>
public sealed class UserStream : IAsyncEnumerable<User>, IAsyncDisposable
{
    private readonly UserRepository _repository;
    private readonly MySqlCommand _command;
    private readonly MySqlDataReader _reader;
    private readonly SemaphoreSlim _slot;
    private MySqlConnection? _connection;
    private int _enumerated;

    internal UserStream(UserRepository repository, MySqlConnection connection, MySqlCommand command, MySqlDataReader reader, SemaphoreSlim slot)
    {
        _repository = repository;
        _connection = connection;
        _command = command;
        _reader = reader;
        _slot = slot;
    }

    /// <summary>Yields the users in <c>user_id</c> order, reading rows only as they are asked for.</summary>
    /// <param name="cancellationToken">Stops the enumeration between rows.</param>
    /// <returns>The enumerator; disposing it releases the connection.</returns>
    /// <exception cref="InvalidOperationException">The stream was already enumerated or disposed.</exception>
    /// <exception cref="DatabaseUnavailableException">Reading a row failed (raised during enumeration).</exception>
    public IAsyncEnumerator<User> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0 || Volatile.Read(ref _connection) is null)
        {
            throw new InvalidOperationException("A UserStream can be enumerated only once.");
        }

        return ReadRowsAsync(cancellationToken);
    }

    /// <summary>Releases the reader and the command, gives the connection back, then the stream slot; later calls do nothing.</summary>
    /// <returns>A task that completes when the connection is back in the pool and the slot free.</returns>
    public async ValueTask DisposeAsync()
    {
        var connection = Interlocked.Exchange(ref _connection, null);
        if (connection is null)
        {
            return;
        }

        try
        {
            await _reader.DisposeAsync().ConfigureAwait(false);
            await _command.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A broken connection may throw on close; it must still be released.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _slot.Release();
            }
        }
    }

    private async IAsyncEnumerator<User> ReadRowsAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                User user;
                try
                {
                    if (!await _reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }

                    user = UserRepository.ReadUser(_reader);
                }
                catch (Exception exception) when (UserRepository.IsDatabaseFailure(exception) && !cancellationToken.IsCancellationRequested)
                {
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
