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
        var second = _queue.TakeAsync(CancellationToken.None);
        await Task.Delay(50);
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
    public async Task AddAfter_delays_the_add()
    {
        _queue.AddAfter("a", TimeSpan.FromMilliseconds(100));

        Assert.Equal(0, _queue.Depth);
        Assert.Equal("a", await _queue.TakeAsync(Soon()));
    }
}
