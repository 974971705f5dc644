namespace UserApiOperator.Runtime.Watcher;

/// <summary>An informer of any kind, as the controller host runs and waits for it.</summary>
public interface IInformer
{
    /// <summary>Kind of the cached objects, for logs.</summary>
    string Kind { get; }

    /// <summary>True once the first list has filled the cache.</summary>
    bool HasSynced { get; }

    /// <summary>Completes when the first list has filled the cache.</summary>
    Task WaitForSyncAsync(CancellationToken cancellationToken);

    /// <summary>Lists and watches until <paramref name="cancellationToken"/> is cancelled; never throws otherwise.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
