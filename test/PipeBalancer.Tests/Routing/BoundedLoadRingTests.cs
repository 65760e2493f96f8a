using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class BoundedLoadRingTests
{
    [Test]
    public void Simulation_NoServerEverExceedsItsCap()
    {
        // Requests arrive and finish at random over a skewed key set (a fifth of the traffic on
        // one hot key); at every placement the chosen server must be under the cap counting the
        // new request: ceil(c x (in flight + 1) / servers).
        const int Servers = 10;
        var ring = BoundedLoadRing.Build(TestBackends.Make(Servers), HashFunction.XxHash3, 160, loadFactor: 1.25);
        var view = new TestServerView(Servers);
        var random = new Random(11);
        var inFlight = new List<int>();
        int spilled = 0;
        for (int step = 0; step < 200_000; step++)
        {
            if (inFlight.Count > 0 && (inFlight.Count > 300 || random.Next(2) == 0))
            {
                int done = random.Next(inFlight.Count);
                view.Load[inFlight[done]]--;
                inFlight[done] = inFlight[^1];
                inFlight.RemoveAt(inFlight.Count - 1);
                continue;
            }

            int key = random.Next(5) == 0 ? 0 : random.Next(100_000);
            uint hash = ring.HashKey(RoutingAssert.Key(key));
            long cap = ring.Cap(view);
            int server = ring.Select(hash, view);
            Assert.That(view.Load[server] + 1, Is.LessThanOrEqualTo(cap), $"step {step}");
            spilled += server != ring.Owners[ring.FindPoint(hash)] ? 1 : 0;
            view.Load[server]++;
            inFlight.Add(server);
        }

        Assert.That(spilled, Is.GreaterThan(0), "the hot key spilled to neighbours");
    }

    [Test]
    public void HotKey_SpreadsOverSeveralServers_WhilePlainRingPilesItOnOne()
    {
        var servers = TestBackends.Make(8);
        var bounded = BoundedLoadRing.Build(servers, HashFunction.XxHash3, 160, 1.25);
        var plain = HashRing.Build(servers, HashFunction.XxHash3, 160);
        var boundedView = new TestServerView(8);
        var plainView = new TestServerView(8);
        for (int i = 0; i < 80; i++)
        {
            boundedView.Load[bounded.Select("/hot"u8, boundedView)]++;
            plainView.Load[plain.Select("/hot"u8, plainView)]++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(plainView.Load.Max(), Is.EqualTo(80));
            // 80 in flight over 8 servers at c = 1.25: at most ceil(1.25 x 80 / 8) = 13 each.
            Assert.That(boundedView.Load.Max(), Is.LessThanOrEqualTo(13));
            Assert.That(boundedView.Load.Sum(), Is.EqualTo(80));
        });
    }

    [Test]
    public void IdleServers_RouteExactlyLikeThePlainRing()
    {
        var servers = TestBackends.Make(6);
        var bounded = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.RingBounded), servers);
        var plain = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring), servers);
        Assert.That(RoutingAssert.Owners(bounded, 20_000), Is.EqualTo(RoutingAssert.Owners(plain, 20_000)));
    }
}
