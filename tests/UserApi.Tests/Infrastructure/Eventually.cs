using System.Diagnostics;

namespace UserApiService.Tests.Infrastructure;

/// <summary>Waits for a condition the test is about, polling it; the time limit is only reached when the test fails.</summary>
public static class Eventually
{
    /// <summary>Default limit: far beyond what any condition here takes on a busy machine (milliseconds to seconds).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Polls <paramref name="condition"/> every 50 ms until it holds; fails the test with
    /// <paramref name="what"/> and the last state <paramref name="describe"/> gives when it still does
    /// not after <paramref name="timeout"/> (default <see cref="DefaultTimeout"/>).
    /// </summary>
    public static async Task HoldsAsync(string what, Func<Task<bool>> condition, Func<Task<string>>? describe = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                var state = describe is null ? string.Empty : $" ({await describe()})";
                throw new Xunit.Sdk.XunitException($"still not {what} after {limit.TotalSeconds} s{state}");
            }

            await Task.Delay(50);
        }
    }
}
