using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class NoAffinityRouterTests
{
    [Test]
    public void RoundRobin_InterleavesByWeight()
    {
        var servers = new[] { TestBackends.Backend("a", 1, 1), TestBackends.Backend("b", 2, 3) };
        var router = new RoundRobinRouter(servers);
        var view = new AllEligibleView(2);
        var picks = Enumerable.Range(0, 8).Select(_ => router.Servers[router.Select(0, view)].Id).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(picks.Count(p => p == "b"), Is.EqualTo(6));
            // Smooth: never the light server twice in a row, never the heavy one four times.
            Assert.That(string.Concat(picks), Does.Not.Contain("aa").And.Not.Contain("bbbb"));
        });
    }

    [Test]
    public void RoundRobin_SkipsIneligibleServers()
    {
        var router = new RoundRobinRouter(TestBackends.Make(3));
        var view = new TestServerView(3);
        view.Eligible[1] = false;
        var picks = Enumerable.Range(0, 30).Select(_ => router.Select(0, view)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(picks, Has.None.EqualTo(1));
            Assert.That(picks, Has.Some.EqualTo(0).And.Some.EqualTo(2));
        });
    }

    [Test]
    public void LeastConnections_PrefersTheLessLoadedOfTwo()
    {
        var router = new LeastConnectionsRouter(TestBackends.Make(4), new Random(9));
        var view = new TestServerView(4);
        view.Load[0] = 50;
        view.Load[1] = 50;
        view.Load[2] = 50;
        int picksOfIdle = Enumerable.Range(0, 1000).Count(_ => router.Select(0, view) == 3);
        // Server 3 wins whenever it is one of the two drawn: 1 - (3/4 x 2/3) = 1/2 of the time;
        // a uniform pick would give it 1/4.
        Assert.That(picksOfIdle, Is.InRange(430, 570));
    }

    [Test]
    public void LeastConnections_WeighsInFlightByWeight()
    {
        var servers = new[] { TestBackends.Backend("a", 1, 1), TestBackends.Backend("b", 2, 4) };
        var router = new LeastConnectionsRouter(servers, new Random(1));
        var view = new TestServerView(2);
        view.Load[0] = 2;
        view.Load[1] = 6;
        // 2 per unit of weight vs 1.5: b is the less loaded.
        Assert.That(router.Select(0, view), Is.EqualTo(1));
    }
}
