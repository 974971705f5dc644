using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Tests.Runtime;

/// <summary>
/// How an informer paces itself against a server that misbehaves the same way again and again: a
/// list source and a watch source written for the case, and a clock that moves only when the test
/// moves it, so "it waited" is a fact, not a measurement.
/// </summary>
public sealed class InformerPacingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_watch_that_ends_at_once_without_an_event_is_retried_after_a_backoff()
    {
        var time = new FakeTimeProvider();
        var watches = 0;
        var source = new ListWatch<V1ConfigMap>(
            (_, _, _, _) => Task.FromResult(new ListPage<V1ConfigMap>([], new V1ListMeta { ResourceVersion = "1" })),
            (_, _, _, _, ct) => Empty(() => Interlocked.Increment(ref watches), ct));
        var informer = new Informer<V1ConfigMap>("ConfigMap", source, new InformerOptions { TimeProvider = time }, null, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        // client-go's "very short watch": a failure, then the backoff's first delay on the clock
        // (200 ms less at most 20 % jitter) before the next watch.
        await Until(() => informer.FailureCount == 1);
        var waited = TimeSpan.Zero;
        while (Volatile.Read(ref watches) < 2)
        {
            Assert.True(waited < TimeSpan.FromMinutes(1), "no second watch");
            time.Advance(TimeSpan.FromMilliseconds(10));
            waited += TimeSpan.FromMilliseconds(10);
            await Task.Delay(5);
        }

        Assert.True(waited >= new InformerOptions().MinRetryDelay * 0.8, $"watched again after {waited.TotalMilliseconds} ms of the clock");

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact]
    public async Task An_expired_continue_token_is_answered_by_one_whole_list()
    {
        var limits = new List<int?>();
        var source = new ListWatch<V1ConfigMap>(
            (_, continueToken, limit, _) =>
            {
                lock (limits)
                {
                    limits.Add(limit);
                }

                return continueToken switch
                {
                    null when limit is not null => Task.FromResult(new ListPage<V1ConfigMap>([ConfigMap("a")], new V1ListMeta { ResourceVersion = "5", ContinueProperty = "page-2" })),
                    null => Task.FromResult(new ListPage<V1ConfigMap>([ConfigMap("a"), ConfigMap("b")], new V1ListMeta { ResourceVersion = "9" })),
                    _ => throw Gone(),
                };
            },
            (_, _, _, _, ct) => Forever(ct));
        var informer = new Informer<V1ConfigMap>("ConfigMap", source, new InformerOptions(), null, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(2, informer.Count);
        Assert.Equal("9", informer.ResourceVersion);
        lock (limits)
        {
            Assert.Equal([500, 500, null], limits); // First page, its continuation (410), then whole.
        }

        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    private static V1ConfigMap ConfigMap(string name) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", ResourceVersion = "1" } };

    private static HttpOperationException Gone() => new("410 Expired: the continue token is too old")
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(HttpStatusCode.Gone), """{"kind":"Status","code":410,"reason":"Expired"}"""),
    };

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

#pragma warning disable CS1998 // An enumeration that ends at once, on purpose.
    private static async IAsyncEnumerable<(WatchEventType, V1ConfigMap)> Empty(Action opened, [EnumeratorCancellation] CancellationToken cancellationToken)
#pragma warning restore CS1998
    {
        opened();
        yield break;
    }

    private static async IAsyncEnumerable<(WatchEventType, V1ConfigMap)> Forever([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(System.Threading.Timeout.Infinite, cancellationToken);
        yield break;
    }
}
