using PipeBalancer.Forwarding;

namespace PipeBalancer.Tests.Forwarding;

/// <summary>One heartbeat walk, driven by hand (the timer's first tick is an hour away).</summary>
public sealed class HeartbeatTests
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(1000);

    [Test]
    public void Walk_FiresWhatIsDue_AndIsNextNeededAtTheEarliestPendingDeadline()
    {
        using var heartbeat = new Heartbeat(TimeSpan.FromHours(1), shortestTimeoutMs: () => 60_000);
        var due = new Watched(deadline: 5_000);
        var later = new Watched(deadline: 12_000);
        var none = new Watched(deadline: long.MaxValue);
        heartbeat.Add(due);
        heartbeat.Add(later);
        heartbeat.Add(none);

        long next = heartbeat.Walk(now: 5_000);
        Assert.Multiple(() =>
        {
            Assert.That(due.Fired, Is.EqualTo(1));
            Assert.That(later.Fired, Is.Zero);
            Assert.That(next, Is.EqualTo(12_000));
        });
    }

    [Test]
    public void Walk_WithNothingDueSoon_IsNextNeededOneShortestTimeoutLessAPeriodOn()
    {
        // A deadline set after this walk is at least the shortest timeout (10 s) away from it.
        using var heartbeat = new Heartbeat(Period, shortestTimeoutMs: () => 10_000);
        heartbeat.Add(new Watched(deadline: 75_000));
        Assert.That(heartbeat.Walk(now: 1_000), Is.EqualTo(1_000 + 10_000 - 1_000));
    }

    [Test]
    public void Walk_TakesTheShortestTimeoutInForceAtEachWalk_AndTheOwnTickIntoAccount()
    {
        long shortest = 60_000;
        using var heartbeat = new Heartbeat(Period, now => now + 30_000, () => shortest);
        long first = heartbeat.Walk(now: 0);

        // A reload lowers a timeout: the next walk comes sooner, but never sooner than one period.
        shortest = 10_000;
        long second = heartbeat.Walk(now: 0);
        shortest = 1_500;
        long third = heartbeat.Walk(now: 0);
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(30_000), "the own tick's deadline (pooled backend connections)");
            Assert.That(second, Is.EqualTo(9_000));
            Assert.That(third, Is.EqualTo(1_000));
        });
    }

    [Test]
    public void Walk_WithoutABoundOnDeadlines_IsNextNeededOnePeriodOn()
    {
        using var heartbeat = new Heartbeat(Period);
        heartbeat.Add(new Watched(deadline: 75_000));
        Assert.That(heartbeat.Walk(now: 500), Is.EqualTo(1_500));
    }

    [Test]
    public void Walk_SkipsRemovedConnections()
    {
        using var heartbeat = new Heartbeat(TimeSpan.FromHours(1), shortestTimeoutMs: () => 60_000);
        var gone = new Watched(deadline: 0);
        heartbeat.Add(gone);
        heartbeat.Remove(gone);
        Assert.Multiple(() =>
        {
            Assert.That(heartbeat.Walk(now: 10), Is.EqualTo(10 + (60L * 60 * 1000)), "nothing pending: one period on (a period longer than the shortest timeout is its own floor)");
            Assert.That(gone.Fired, Is.Zero);
        });
    }

    [Test]
    public async Task AWalkThatThrows_IsReported_AndTheWalksGoOn()
    {
        var faults = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var walkedAfterTheFault = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var heartbeat = new Heartbeat(TimeSpan.FromMilliseconds(20), shortestTimeoutMs: () => 20, onFault: faults.Enqueue);
        heartbeat.Add(new Throwing(walkedAfterTheFault));

        await walkedAfterTheFault.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(faults.Select(f => f.Message), Is.EqualTo(new[] { "first walk" }));
    }

    // Throws on its first walk and tells when it is walked again.
    private sealed class Throwing(TaskCompletionSource walkedAgain) : ITimeoutWatched
    {
        private int _walks;

        public long OnTick(long now)
        {
            if (Interlocked.Increment(ref _walks) == 1)
            {
                throw new InvalidOperationException("first walk");
            }

            walkedAgain.TrySetResult();
            return long.MaxValue;
        }
    }

    private sealed class Watched(long deadline) : ITimeoutWatched
    {
        private long _deadline = deadline;

        public int Fired { get; private set; }

        public long OnTick(long now)
        {
            if (now >= _deadline)
            {
                _deadline = long.MaxValue;
                Fired++;
            }

            return _deadline;
        }
    }
}
