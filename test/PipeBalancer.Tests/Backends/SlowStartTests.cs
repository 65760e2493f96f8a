using PipeBalancer.Tests.Routing;
using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Backends;

public sealed class SlowStartTests
{
    [Test]
    public async Task RecoveringBackend_TakesItsShareBackInSteps_AndKeysMoveOnlyToIt()
    {
        var time = new FakeTimeProvider();
        var config = new BalancerConfig([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)), RoutingConfig.Default, TestBackends.Make(3));
        using var set = new BackendSet(config);
        var slowStart = new SlowStart(set, TimeSpan.FromSeconds(10), time);
        var full = RoutingAssert.Owners(set.Router, 20_000);
        double fullShare = set.Router.KeySpaceShares()[1];

        set[1].RecordCheck(time.GetUtcNow(), HealthCheckResult.UnexpectedStatus(503, 200, 399), HealthStatus.Unhealthy, out _);
        slowStart.OnHealthChanged(set[1], HealthStatus.Healthy, HealthStatus.Unhealthy);
        Assert.That(set.Shares[1], Is.EqualTo(0.1));

        set[1].RecordCheck(time.GetUtcNow(), HealthCheckResult.Pass(200), HealthStatus.Healthy, out _);
        slowStart.OnHealthChanged(set[1], HealthStatus.Unhealthy, HealthStatus.Healthy);
        var spaceShares = new List<double>();
        var previous = RoutingAssert.Owners(set.Router, 20_000);
        for (int step = 1; step <= SlowStart.Steps; step++)
        {
            await WaitFor(() => set.Shares[1] >= step / 10.0 - 1e-9);
            spaceShares.Add(set.Router.KeySpaceShares()[1]);
            var owners = RoutingAssert.Owners(set.Router, 20_000);
            for (int k = 0; k < owners.Length; k++)
            {
                if (owners[k] != previous[k])
                {
                    Assert.That(owners[k], Is.EqualTo("s2"), $"step {step}: key {k} moved between other servers");
                }
            }

            previous = owners;
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Multiple(() =>
        {
            Assert.That(spaceShares, Is.Ordered.Ascending);
            Assert.That(spaceShares[0], Is.LessThan(fullShare * 0.25), "the first step holds about a tenth");
            Assert.That(spaceShares[^1], Is.EqualTo(fullShare).Within(1e-12));
            Assert.That(previous, Is.EqualTo(full), "at the end, the ring is as before the failure");
        });
    }

    [TestCase(RoutingAlgorithm.Maglev)]
    [TestCase(RoutingAlgorithm.RoundRobin)]
    [TestCase(RoutingAlgorithm.LeastConnections)]
    [TestCase(RoutingAlgorithm.Nginx)]
    [TestCase(RoutingAlgorithm.RingBounded)]
    public void EveryAlgorithm_RampsTheServersShare(RoutingAlgorithm algorithm)
    {
        var config = new BalancerConfig([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)), RoutingAssert.Routing(algorithm), TestBackends.Make(3));
        using var set = new BackendSet(config);
        double full = set.Router.KeySpaceShares()[1];
        var shares = new List<double>();
        for (int step = 1; step <= SlowStart.Steps; step++)
        {
            set.SetShare(1, step / 10.0);
            shares.Add(set.Router.KeySpaceShares()[1]);
        }

        Assert.Multiple(() =>
        {
            Assert.That(shares, Is.Ordered.Ascending);
            Assert.That(shares[0], Is.LessThan(full * 0.3));
            Assert.That(shares[^1], Is.EqualTo(full).Within(1e-9));
        });
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.That(condition(), Is.True);
    }
}
