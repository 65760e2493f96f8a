using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Backends;

public sealed class HealthCheckerTests
{
    [Test]
    public async Task ChecksOnTheClock_TakeADeadBackendOutAndBringItBack()
    {
        var time = new FakeTimeProvider();
        using var set = new BackendSet(Config(3));
        var up = new[] { true, true, true };
        int checks = 0;
        var observer = new RecordingObserver();
        var config = HealthConfig.Default with { IntervalMs = 1000, Rise = 2, Fall = 3, Jitter = 0, MaxBackoffMs = 4000 };
        await using var checker = new HealthChecker(set, config, time, [observer], (backend, _) =>
        {
            Interlocked.Increment(ref checks);
            return Task.FromResult(up[set.Backends.ToList().IndexOf(backend)]);
        });
        checker.Start();
        await Until(() => Volatile.Read(ref checks) >= 3);
        await Advance(time, 1000, () => Volatile.Read(ref checks) >= 6);
        Assert.That(set.Backends.Select(b => b.Health), Has.All.EqualTo(HealthStatus.Healthy));

        up[1] = false;
        for (int i = 0; i < 3; i++)
        {
            int expected = Volatile.Read(ref checks) + 3;
            await Advance(time, 1000, () => Volatile.Read(ref checks) >= expected);
        }

        Assert.Multiple(() =>
        {
            Assert.That(set[1].Health, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(set[1].Eligible, Is.False);
            Assert.That(set.EligibleCount, Is.EqualTo(2));
            Assert.That(observer.Changes, Does.Contain(("s2", HealthStatus.Healthy, HealthStatus.Unhealthy)));
        });

        // Keys of the dead backend go to their clockwise neighbours; the others stay.
        var router = set.Router;
        var all = new AllEligibleView(3);
        for (int k = 0; k < 2000; k++)
        {
            uint hash = router.HashKey(System.Text.Encoding.ASCII.GetBytes($"/k/{k}"));
            int owner = router.Select(hash, all);
            int now = router.Select(hash, set);
            Assert.That(now, owner == 1 ? Is.Not.EqualTo(1) : Is.EqualTo(owner));
        }

        up[1] = true;
        time.Advance(TimeSpan.FromSeconds(10));
        await Until(() => set[1].Health == HealthStatus.Healthy, () => time.Advance(TimeSpan.FromSeconds(4)));
        Assert.Multiple(() =>
        {
            Assert.That(set[1].Eligible, Is.True);
            Assert.That(observer.Changes, Does.Contain(("s2", HealthStatus.Unhealthy, HealthStatus.Healthy)));
        });
    }

    [Test]
    public async Task UnknownBackends_TakeNoTraffic_WhenConfiguredSo()
    {
        using var set = new BackendSet(Config(2));
        await using var checker = new HealthChecker(set, HealthConfig.Default with { UnknownTakesTraffic = false }, new FakeTimeProvider(), [],
            (_, _) => Task.FromResult(true));
        Assert.Multiple(() =>
        {
            Assert.That(set.EligibleCount, Is.Zero);
            Assert.That(set.Router.Select("/x"u8, set), Is.EqualTo(-1));
        });
    }

    private static async Task Advance(FakeTimeProvider time, int milliseconds, Func<bool> done)
    {
        time.Advance(TimeSpan.FromMilliseconds(milliseconds));
        await Until(done);
    }

    private static async Task Until(Func<bool> condition, Action? nudge = null)
    {
        // Waits for the checker's loops (on the thread pool) to catch up with the fake clock.
        for (int i = 0; i < 500 && !condition(); i++)
        {
            nudge?.Invoke();
            await Task.Delay(10);
        }

        Assert.That(condition(), Is.True, "condition not reached");
    }

    private static BalancerConfig Config(int backends) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            TestBackends.Make(backends));

    private sealed class RecordingObserver : IHealthObserver
    {
        public List<(string, HealthStatus, HealthStatus)> Changes { get; } = [];

        public void OnHealthChanged(Backend backend, HealthStatus before, HealthStatus after)
        {
            lock (Changes)
            {
                Changes.Add((backend.Config.Id, before, after));
            }
        }
    }
}
