using System.Net;
using k8s;
using k8s.Autorest;

namespace UserApiOperator.Bench;

/// <summary>
/// Follows one watch for as long as the benchmark runs, as a controller's reflector does: when the
/// server ends the stream it watches again from the last resource version seen, and after 410 Expired
/// it starts again from now (the benchmark's fake keeps its whole history, so that is rare).
/// </summary>
internal static class WatchLoop
{
    /// <param name="watch">Opens the watch from a resource version ("" = now), reporting stream errors to the callback.</param>
    /// <param name="handle">Handles one event; returns the object's resource version.</param>
    /// <param name="cancellationToken">Ends the loop.</param>
    public static async Task RunAsync<T>(
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch,
        Func<WatchEventType, T, string?> handle,
        CancellationToken cancellationToken)
    {
        var resourceVersion = "";
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Exception? error = null;
                await foreach (var (type, item) in watch(resourceVersion, e => error ??= e, cancellationToken))
                {
                    resourceVersion = handle(type, item) ?? resourceVersion;
                }

                if (error is KubernetesException { Status.Code: 410 })
                {
                    resourceVersion = "";
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Gone)
            {
                resourceVersion = "";
            }
            catch (HttpRequestException e) when (e.InnerException is EndOfStreamException)
            {
                // The server ended a watch before its first event; KubernetesClient throws for that.
            }
        }
    }
}
