using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class ServerWalkTests
{
    [TestCase(RoutingAlgorithm.Ring)]
    [TestCase(RoutingAlgorithm.Nginx)]
    [TestCase(RoutingAlgorithm.Maglev)]
    [TestCase(RoutingAlgorithm.RoundRobin)]
    [TestCase(RoutingAlgorithm.LeastConnections)]
    public void Walk_VisitsEveryServerExactlyOnce(RoutingAlgorithm algorithm)
    {
        var router = Router.Create(RoutingAssert.Routing(algorithm), TestBackends.Make(70), new Random(3));
        var view = new AllEligibleView(70);
        Span<ulong> seen = stackalloc ulong[router.SeenLength];
        for (int k = 0; k < 200; k++)
        {
            var walk = router.Walk(router.HashKey(RoutingAssert.Key(k)), view, seen);
            var visited = new List<int>();
            while (walk.MoveNext())
            {
                visited.Add(walk.Current);
            }

            Assert.That(visited, Is.Unique.And.Count.EqualTo(70));
        }
    }

    [Test]
    public void Walk_OnARing_GoesClockwiseFromTheKeysPoint()
    {
        var ring = HashRing.Build(TestBackends.Make(5), HashFunction.XxHash3, 40);
        uint hash = ring.HashKey("/some/path"u8);
        var expected = new List<int>();
        int start = ring.FindPoint(hash);
        for (int i = 0; i < ring.Size; i++)
        {
            int owner = ring.Owners[(start + i) % ring.Size];
            if (!expected.Contains(owner))
            {
                expected.Add(owner);
            }
        }

        Span<ulong> seen = stackalloc ulong[ring.SeenLength];
        var walk = ring.Walk(hash, new AllEligibleView(5), seen);
        var visited = new List<int>();
        while (walk.MoveNext())
        {
            visited.Add(walk.Current);
        }

        Assert.That(visited, Is.EqualTo(expected));
    }

    [Test]
    public void Select_SkipsIneligibleServersClockwise_AndKeysOfHealthyServersStay()
    {
        var servers = TestBackends.Make(10);
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring), servers);
        var healthy = new AllEligibleView(10);
        var down = new TestServerView(10);
        down.Eligible[4] = false;
        Span<ulong> seen = stackalloc ulong[router.SeenLength];
        for (int k = 0; k < 20_000; k++)
        {
            uint hash = router.HashKey(RoutingAssert.Key(k));
            int owner = router.Select(hash, healthy);
            int now = router.Select(hash, down);
            if (owner != 4)
            {
                Assert.That(now, Is.EqualTo(owner), "a healthy server's key moved");
                continue;
            }

            // The key of the failed server goes to the next server clockwise.
            var walk = router.Walk(hash, healthy, seen);
            walk.MoveNext();
            walk.MoveNext();
            Assert.That(now, Is.EqualTo(walk.Current));
        }
    }

    [Test]
    public void Select_ReturnsMinusOne_WhenNoServerIsEligible()
    {
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring), TestBackends.Make(3));
        var view = new TestServerView(3);
        Array.Fill(view.Eligible, false);
        Assert.That(router.Select("/x"u8, view), Is.EqualTo(-1));
    }

    [Test]
    public void Walk_AfterARetry_NeverOffersTheSameServerAgain()
    {
        // A caller that fails on a server takes the next from the same walk: the walk itself is
        // the "not yet tried" predicate.
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring), TestBackends.Make(4));
        Span<ulong> seen = stackalloc ulong[router.SeenLength];
        var walk = router.Walk(router.HashKey("/k"u8), new AllEligibleView(4), seen);
        var tried = new HashSet<int>();
        while (walk.MoveNext())
        {
            Assert.That(tried.Add(walk.Current), Is.True);
        }

        Assert.That(walk.MoveNext(), Is.False, "an exhausted walk stays exhausted");
    }
}

/// <summary>A view whose health and load a test sets by hand.</summary>
internal sealed class TestServerView : IServerView
{
    public TestServerView(int servers)
    {
        Eligible = Enumerable.Repeat(true, servers).ToArray();
        Load = new int[servers];
    }

    public bool[] Eligible { get; }

    public int[] Load { get; }

    public int EligibleCount => Eligible.Count(e => e);

    public int TotalInFlight => Load.Sum();

    public bool IsEligible(int server) => Eligible[server];

    public int InFlight(int server) => Load[server];
}
