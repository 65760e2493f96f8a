using PipeBalancer.Configuration;
using PipeBalancer.Discovery;

namespace PipeBalancer.Tests.Discovery;

public sealed class RefreshScheduleTests
{
    private static readonly DiscoveryConfig Group = new("web") { Srv = "_http._tcp.web", MinRefreshMs = 5_000, MaxRefreshMs = 60_000, Jitter = 0.1 };

    [TestCase(1, 5_000)]
    [TestCase(30, 30_000)]
    [TestCase(3600, 60_000)]
    public void AfterAnswer_FollowsTheTtl_WithinFloorAndCap_SpreadByTheJitter(int ttlSeconds, int expectedMs)
    {
        var schedule = new RefreshSchedule(Group, new Random(7));
        var delays = Enumerable.Range(0, 200).Select(_ => schedule.AfterAnswer(TimeSpan.FromSeconds(ttlSeconds)).TotalMilliseconds).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(delays, Has.All.InRange(expectedMs * 0.9, expectedMs * 1.1));
            Assert.That(delays.Min(), Is.LessThan(expectedMs * 0.97), "the jitter spreads below");
            Assert.That(delays.Max(), Is.GreaterThan(expectedMs * 1.03), "and above");
        });
    }

    [Test]
    public void WithoutJitter_TheIntervalIsExact()
    {
        var schedule = new RefreshSchedule(Group with { Jitter = 0 }, new Random(7));
        Assert.Multiple(() =>
        {
            Assert.That(schedule.AfterAnswer(TimeSpan.FromSeconds(20)), Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(schedule.AfterAnswer(TimeSpan.Zero), Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(schedule.AfterFailure(), Is.EqualTo(TimeSpan.FromSeconds(5)));
        });
    }

    [Test]
    public void AfterFailure_RetriesAtTheFloor()
    {
        var schedule = new RefreshSchedule(Group, new Random(3));
        var delays = Enumerable.Range(0, 50).Select(_ => schedule.AfterFailure().TotalMilliseconds).ToList();
        Assert.That(delays, Has.All.InRange(4_500, 5_500));
    }
}
