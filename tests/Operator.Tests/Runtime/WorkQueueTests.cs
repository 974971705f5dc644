using Microsoft.Extensions.Time.Testing;
using UserApiOperator.Runtime.Queue;

namespace UserApiOperator.Tests.Runtime;

public sealed class WorkQueueTests : IDisposable
{
    private readonly WorkQueue _queue = new(new ExponentialBackoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1)), TimeProvider.System);

    public void Dispose() => _queue.Dispose();

    private static CancellationToken Soon() => new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token;

    [Fact]
    public async Task A_key_added_twice_is_handed_out_once()
    {
        _queue.Add("a");
        _queue.Add("a");
        _queue.Add("b");

        Assert.Equal(2, _queue.Depth);
        Assert.Equal("a", await _queue.TakeAsync(Soon()));
        Assert.Equal("b", await _queue.TakeAsync(Soon()));
        Assert.Equal(0, _queue.Depth);
    }

    [Fact]
    public async Task A_key_being_processed_is_not_handed_out_again_until_done()
    {
        _queue.Add("a");
        var key = await _queue.TakeAsync(Soon());
        _queue.Add("a"); // Changed while being reconciled.

        Assert.Equal(0, _queue.Depth);
        // A key added after it is handed out first: "a" waits although it was added earlier.
        _queue.Add("b");
        Assert.Equal("b", await _queue.TakeAsync(Soon()));
        var second = _queue.TakeAsync(CancellationToken.None);
        Assert.False(second.IsCompleted);

        _queue.Done(key);
        Assert.Equal("a", await second.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Done_without_a_new_add_does_not_requeue()
    {
        _queue.Add("a");
        _queue.Done(await _queue.TakeAsync(Soon()));

        Assert.Equal(0, _queue.Depth);
    }

    [Fact]
    public async Task Rate_limited_adds_back_off_exponentially_and_forget_resets()
    {
        var first = _queue.AddRateLimited("a");
        var second = _queue.AddRateLimited("a");
        var third = _queue.AddRateLimited("a");

        Assert.InRange(first.TotalMilliseconds, 4, 6);
        Assert.InRange(second.TotalMilliseconds, 8, 12);
        Assert.InRange(third.TotalMilliseconds, 16, 24);
        Assert.Equal(3, _queue.Failures("a"));
        Assert.Equal("a", await _queue.TakeAsync(Soon()));

        _queue.Forget("a");
        Assert.Equal(0, _queue.Failures("a"));
    }

    [Fact]
    public void Backoff_is_capped()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromMinutes(5));
        TimeSpan last = default;
        for (var i = 0; i < 40; i++)
        {
            last = backoff.NextDelay("k");
        }

        Assert.InRange(last, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(6));
    }

    [Fact]
    public async Task AddAfter_delays_the_add_until_its_time()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue(ExponentialBackoff.Default(), time);
        queue.AddAfter("a", TimeSpan.FromMilliseconds(100));

        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(0, queue.Depth);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("a", await queue.TakeAsync(Soon()));
    }

    [Fact]
    public async Task A_key_that_asks_to_be_requeued_on_every_trigger_keeps_one_delayed_add()
    {
        // A key whose every reconcile asks to be looked at again in 100 ms (a missing Secret, a
        // persistent error), and which two more triggers (events, a resync) also reconcile: each
        // reconcile asks again, and the earliest time stands, so it is still reconciled once per 100 ms.
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue(ExponentialBackoff.Default(), time);
        var requeue = TimeSpan.FromMilliseconds(100);
        queue.AddAfter("a", requeue);
        time.Advance(TimeSpan.FromMilliseconds(30));
        queue.AddAfter("a", requeue);
        time.Advance(TimeSpan.FromMilliseconds(30));
        queue.AddAfter("a", requeue);

        var reconciles = 0;
        for (var step = 0; step < 100; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            while (queue.Depth > 0)
            {
                var key = await queue.TakeAsync(Soon());
                reconciles++;
                queue.Done(key);
                queue.AddAfter(key, requeue);
            }
        }

        // 1,060 ms: the first at 100 ms, then one every 100 ms; not one chain per trigger.
        Assert.InRange(reconciles, 9, 11);
    }

    [Fact]
    public async Task An_earlier_delayed_add_replaces_a_later_one()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue(ExponentialBackoff.Default(), time);
        queue.AddAfter("a", TimeSpan.FromSeconds(30));
        queue.AddAfter("a", TimeSpan.FromMilliseconds(100));

        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("a", await queue.TakeAsync(Soon()));
        queue.Done("a");
        time.Advance(TimeSpan.FromSeconds(30)); // The later one was dropped: nothing comes then.
        Assert.Equal(0, queue.Depth);
    }
}
