using PipeBalancer.Backends;

namespace PipeBalancer.Tests.Backends;

public sealed class HealthStateTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    [Test]
    public void StartsUnknown_BecomesHealthyAfterRiseSuccesses()
    {
        var state = new HealthState(rise: 2, fall: 3, Interval, MaxBackoff);
        Assert.Multiple(() =>
        {
            Assert.That(state.Status, Is.EqualTo(HealthStatus.Unknown));
            Assert.That(state.Record(true), Is.False);
            Assert.That(state.Status, Is.EqualTo(HealthStatus.Unknown));
            Assert.That(state.Record(true), Is.True);
            Assert.That(state.Status, Is.EqualTo(HealthStatus.Healthy));
        });
    }

    [Test]
    public void BecomesUnhealthyAfterFallFailures_AndHealthyAgainAfterRise()
    {
        var state = new HealthState(rise: 2, fall: 3, Interval, MaxBackoff);
        state.Record(true);
        state.Record(true);
        var statuses = new[] { false, false, false, true, true }.Select(r => { state.Record(r); return state.Status; }).ToArray();
        Assert.That(statuses, Is.EqualTo(new[]
        {
            HealthStatus.Healthy, HealthStatus.Healthy, HealthStatus.Unhealthy, HealthStatus.Unhealthy, HealthStatus.Healthy,
        }));
    }

    [Test]
    public void FlappingBackend_IsDampedByRiseAndFall()
    {
        var state = new HealthState(rise: 2, fall: 3, Interval, MaxBackoff);
        state.Record(true);
        state.Record(true);
        int changes = 0;
        foreach (bool result in new[] { false, true, false, false, true, false, true, false, false, true })
        {
            changes += state.Record(result) ? 1 : 0;
        }

        Assert.Multiple(() =>
        {
            Assert.That(changes, Is.Zero, "never fall failures or rise successes in a row");
            Assert.That(state.Status, Is.EqualTo(HealthStatus.Healthy));
        });
    }

    [Test]
    public void WhileUnhealthy_TheIntervalDoublesUpToTheCap_AndSnapsBackOnRecovery()
    {
        var state = new HealthState(rise: 1, fall: 1, Interval, MaxBackoff);
        state.Record(false);
        var delays = new List<double> { state.NextDelay(0, 0.5).TotalSeconds };
        for (int i = 0; i < 6; i++)
        {
            state.Record(false);
            delays.Add(state.NextDelay(0, 0.5).TotalSeconds);
        }

        state.Record(true);
        Assert.Multiple(() =>
        {
            Assert.That(delays, Is.EqualTo(new[] { 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0 }));
            Assert.That(state.NextDelay(0, 0.5), Is.EqualTo(Interval));
        });
    }

    [TestCase(0.0, 1.8)]
    [TestCase(0.5, 2.0)]
    [TestCase(0.999999, 2.2)]
    public void Jitter_SpreadsTheIntervalBothWays(double random, double seconds) =>
        Assert.That(new HealthState(2, 3, Interval, MaxBackoff).NextDelay(0.1, random).TotalSeconds, Is.EqualTo(seconds).Within(0.001));
}
