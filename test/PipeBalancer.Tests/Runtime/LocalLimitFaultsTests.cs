using PipeBalancer.Runtime;

namespace PipeBalancer.Tests.Runtime;

public sealed class LocalLimitFaultsTests
{
    [Test]
    public void Budget_IsHalfOfWhatIsFreeAfterTheRuntimesShare_AndNeverMoreThanIsFree()
    {
        using var limits = new LocalLimitFaults();
        Assert.Multiple(() =>
        {
            // 4096 - 200 open - 32 for the runtime, halved (client and backend connection).
            Assert.That(limits.SetBudget(4096, 200), Is.EqualTo(1932));

            // The JIT executable under 256: its own files leave no room; one client at a time
            // still leaves the runtime the few descriptors there are.
            Assert.That(limits.SetBudget(256, 235), Is.EqualTo(1));
            Assert.That(limits.SetBudget(0, 235), Is.EqualTo(long.MaxValue), "no known limit, no budget");
        });
    }

    [Test]
    public async Task AListenerWaitingForRoom_GoesOnWhenAConnectionCloses()
    {
        using var limits = new LocalLimitFaults();
        limits.Opened();
        var waiting = limits.WaitForRoomAsync(int.MaxValue, CancellationToken.None);
        Assert.That(waiting.IsCompleted, Is.False);

        limits.Closed();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(limits.Accepted, Is.Zero);
    }

    [Test]
    public async Task AfterAnEpisode_QuietIsToldOnce_WhenNoFaultCameForFiveSeconds()
    {
        using var limits = new LocalLimitFaults();
        int told = 0;
        Assert.That(limits.Record(openConnections: 3), Is.True, "the first fault starts an episode");
        limits.WhenQuiet(() => Interlocked.Increment(ref told));
        limits.WhenQuiet(() => Interlocked.Increment(ref told));
        Assert.That(limits.Recent, Is.True);

        // A bound on waiting (the quiet period is the product's 5 s), not a timing check.
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref told) == 0 && waiting.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref told), Is.EqualTo(1));
            Assert.That(limits.Recent, Is.False);
        });
    }
}
