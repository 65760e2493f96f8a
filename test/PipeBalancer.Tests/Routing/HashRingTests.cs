using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Routing;

public sealed class HashRingTests
{
    private const int Keys = 1_000_000;

    [Test]
    public void Build_PlacesVirtualNodesTimesWeightPointsPerServer()
    {
        BackendConfig[] servers = [TestBackends.Backend("a", 1, weight: 1), TestBackends.Backend("b", 2, weight: 3)];
        var ring = HashRing.Build(servers, HashFunction.XxHash3, 100);
        var perServer = new int[2];
        foreach (ushort owner in ring.Owners)
        {
            perServer[owner]++;
        }

        Assert.Multiple(() =>
        {
            Assert.That(ring.Size, Is.EqualTo(400));
            Assert.That(perServer, Is.EqualTo(new[] { 100, 300 }));
            Assert.That(ring.Points.ToArray(), Is.Ordered.Ascending);
            Assert.That(ring.MemoryBytes, Is.EqualTo(400 * 6), "4-byte point + 2-byte owner");
        });
    }

    [TestCase(HashFunction.XxHash3)]
    [TestCase(HashFunction.Fnv1a)]
    [TestCase(HashFunction.Djb2)]
    [TestCase(HashFunction.Md5)]
    public void FindPoint_IsTheFirstPointAtOrAboveTheHash_Wrapping(HashFunction hash)
    {
        var ring = HashRing.Build(TestBackends.Make(7), hash, 13);
        var points = ring.Points.ToArray();
        var probes = new List<uint> { 0, 1, uint.MaxValue, points[0], points[0] - 1, points[0] + 1, points[^1], points[^1] + 1 };
        probes.AddRange(points.Select(p => p - 1));
        var random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            probes.Add((uint)random.NextInt64(0, 1L << 32));
        }

        foreach (uint probe in probes)
        {
            int expected = Array.FindIndex(points, p => p >= probe);
            Assert.That(ring.FindPoint(probe), Is.EqualTo(expected < 0 ? 0 : expected), $"hash {probe:x8}");
        }
    }

    [Test]
    public void Lookup_DoesNotDependOnServerOrder()
    {
        var servers = TestBackends.Make(20);
        var shuffled = servers.Reverse().ToArray();
        new Random(7).Shuffle(shuffled);
        foreach (var algorithm in new[] { RoutingAlgorithm.Ring, RoutingAlgorithm.Maglev })
        {
            var a = Router.Create(RoutingAssert.Routing(algorithm), servers);
            var b = Router.Create(RoutingAssert.Routing(algorithm), shuffled);
            Assert.That(RoutingAssert.Owners(b, 50_000), Is.EqualTo(RoutingAssert.Owners(a, 50_000)), algorithm.ToString());
        }
    }

    [Test]
    public void Lookup_KeepsKeysWhenAServerChangesAddress()
    {
        var servers = TestBackends.Make(10);
        var moved = servers.Select((s, i) => i == 3 ? s with { Address = new HostPort("192.168.9.9", 9999) } : s).ToArray();
        foreach (var algorithm in new[] { RoutingAlgorithm.Ring, RoutingAlgorithm.Maglev })
        {
            var before = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), servers), 50_000);
            var after = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), moved), 50_000);
            Assert.That(after, Is.EqualTo(before), algorithm.ToString());
        }
    }

    // Bounds: what 1M keys measured on the default xxhash3 ring at 160 points per server
    // (3: 1.08, 10: 1.13, 100: 1.23; see docs/routing.md), with a little headroom.
    [TestCase(RoutingAlgorithm.Ring, 3, 1.10)]
    [TestCase(RoutingAlgorithm.Ring, 10, 1.16)]
    [TestCase(RoutingAlgorithm.Ring, 100, 1.26)]
    [TestCase(RoutingAlgorithm.RingBounded, 10, 1.16)]
    [TestCase(RoutingAlgorithm.Nginx, 3, 1.14)]
    [TestCase(RoutingAlgorithm.Nginx, 10, 1.13)]
    [TestCase(RoutingAlgorithm.Nginx, 100, 1.32)]
    [TestCase(RoutingAlgorithm.Maglev, 3, 1.01)]
    [TestCase(RoutingAlgorithm.Maglev, 10, 1.01)]
    [TestCase(RoutingAlgorithm.Maglev, 100, 1.05)]
    [TestCase(RoutingAlgorithm.RoundRobin, 3, 1.0001)]
    [TestCase(RoutingAlgorithm.RoundRobin, 100, 1.0001)]
    [TestCase(RoutingAlgorithm.LeastConnections, 10, 1.02)]
    [TestCase(RoutingAlgorithm.LeastConnections, 100, 1.05)]
    public void Distribution_OverAMillionKeys_StaysWithinMeasuredBound(RoutingAlgorithm algorithm, int servers, double maxOverMean)
    {
        var router = Router.Create(RoutingAssert.Routing(algorithm), TestBackends.Make(servers), new Random(5));
        var ratios = RoutingAssert.LoadRatios(router, Keys);
        Assert.Multiple(() =>
        {
            Assert.That(ratios.Max(), Is.LessThanOrEqualTo(maxOverMean));
            Assert.That(ratios.Min(), Is.GreaterThan(0.75), "no server starves");
        });
    }

    // Without the finalizer FNV-1a put one of 10 servers at 1.5x the mean; with it every
    // function lands where a well-mixed hash does.
    [TestCase(HashFunction.Fnv1a, 10, 1.20)]
    [TestCase(HashFunction.Djb2, 10, 1.20)]
    [TestCase(HashFunction.Md5, 10, 1.20)]
    [TestCase(HashFunction.Fnv1a, 100, 1.26)]
    [TestCase(HashFunction.Djb2, 100, 1.26)]
    [TestCase(HashFunction.Md5, 100, 1.26)]
    public void Distribution_WithEachHash_StaysWithinMeasuredBound(HashFunction hash, int servers, double maxOverMean)
    {
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring, hash), TestBackends.Make(servers));
        Assert.That(RoutingAssert.LoadRatios(router, Keys).Max(), Is.LessThanOrEqualTo(maxOverMean));
    }

    [TestCase(RoutingAlgorithm.Ring, 10)]
    [TestCase(RoutingAlgorithm.Ring, 100)]
    [TestCase(RoutingAlgorithm.Nginx, 10)]
    public void RemovingAServer_MovesOnlyItsKeys(RoutingAlgorithm algorithm, int servers)
    {
        var all = TestBackends.Make(servers);
        var before = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), all), 200_000);
        double movedTotal = 0;
        foreach (int removed in new[] { 0, servers / 2, servers - 1 })
        {
            var rest = all.Where((_, i) => i != removed).ToArray();
            var after = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), rest), before.Length);
            int moved = 0;
            for (int k = 0; k < before.Length; k++)
            {
                if (before[k] != after[k])
                {
                    Assert.That(before[k], Is.EqualTo(all[removed].Id), $"key {k} moved though its server stayed");
                    moved++;
                }
            }

            Assert.That(moved, Is.EqualTo(before.Count(o => o == all[removed].Id)), "every key of the removed server moved");
            movedTotal += (double)moved / before.Length;
        }

        Assert.That(movedTotal / 3, Is.LessThanOrEqualTo(1.15 / servers), "mean share moved vs the ideal 1/S");
    }

    [TestCase(RoutingAlgorithm.Ring, 10)]
    [TestCase(RoutingAlgorithm.Ring, 100)]
    [TestCase(RoutingAlgorithm.Nginx, 10)]
    public void AddingAServer_MovesKeysOnlyToIt(RoutingAlgorithm algorithm, int servers)
    {
        var all = TestBackends.Make(servers);
        var before = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), all), 200_000);
        double movedTotal = 0;
        const int Trials = 8;
        for (int t = 0; t < Trials; t++)
        {
            var added = TestBackends.Backend("new" + t, 1000 + t);
            var after = RoutingAssert.Owners(Router.Create(RoutingAssert.Routing(algorithm), [.. all, added]), before.Length);
            int moved = 0;
            for (int k = 0; k < before.Length; k++)
            {
                if (before[k] != after[k])
                {
                    Assert.That(after[k], Is.EqualTo(added.Id), $"key {k} moved between old servers");
                    moved++;
                }
            }

            movedTotal += (double)moved / before.Length;
        }

        Assert.That(movedTotal / Trials, Is.LessThanOrEqualTo(1.15 / (servers + 1)), "mean share moved vs the ideal 1/(S+1)");
    }

    // Maglev moves more than the removed server's keys; measured with 1M keys and M = 65537:
    // 1.00x the ideal at 3 servers, 1.02x at 10, 1.57x at 100 (docs/routing.md).
    [TestCase(10, 1.05)]
    [TestCase(100, 1.65)]
    public void Maglev_RemovingAServer_MovesLittleMoreThanItsKeys(int servers, double maxOverIdeal)
    {
        var all = TestBackends.Make(servers);
        var routing = RoutingAssert.Routing(RoutingAlgorithm.Maglev);
        var before = RoutingAssert.Owners(Router.Create(routing, all), 200_000);
        var rest = all.Skip(1).ToArray();
        var after = RoutingAssert.Owners(Router.Create(routing, rest), before.Length);
        int moved = before.Zip(after).Count(p => p.First != p.Second);
        int own = before.Count(o => o == all[0].Id);
        Assert.Multiple(() =>
        {
            Assert.That(moved, Is.GreaterThanOrEqualTo(own), "the removed server's keys all move");
            Assert.That((double)moved / before.Length, Is.LessThanOrEqualTo(maxOverIdeal / servers));
        });
    }

    // A ring's shares scatter by about 1/sqrt(points) around the weight's part: at 160 points
    // per weight unit one server of four measured 0.86x, so the ring is checked at 1000 points,
    // where the scatter (3%) no longer hides whether weights are honoured. nginx's ring is fixed
    // at 160 per unit and happens to land within 10% for these ids.
    [TestCase(RoutingAlgorithm.Ring, 1000)]
    [TestCase(RoutingAlgorithm.Nginx, 160)]
    [TestCase(RoutingAlgorithm.Maglev, 160)]
    [TestCase(RoutingAlgorithm.RoundRobin, 160)]
    public void Weights_GiveProportionalShares(RoutingAlgorithm algorithm, int virtualNodes)
    {
        BackendConfig[] servers =
        [
            TestBackends.Backend("w1", 1, 1), TestBackends.Backend("w2", 2, 2),
            TestBackends.Backend("w3", 3, 3), TestBackends.Backend("w5", 4, 5),
        ];
        var ratios = RoutingAssert.LoadRatios(Router.Create(RoutingAssert.Routing(algorithm, virtualNodes: virtualNodes), servers), Keys);
        Assert.That(ratios, Has.All.InRange(0.90, 1.10), string.Join(", ", ratios));
    }

    [Test]
    public void KeySpaceShares_SumToOneAndMatchKeyShares()
    {
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring), TestBackends.Make(5));
        var shares = router.KeySpaceShares();
        var ratios = RoutingAssert.LoadRatios(router, Keys);
        Assert.Multiple(() =>
        {
            Assert.That(shares.Sum(), Is.EqualTo(1.0).Within(1e-9));
            for (int i = 0; i < shares.Length; i++)
            {
                Assert.That(ratios[i] / 5, Is.EqualTo(shares[i]).Within(0.005), $"server {i}");
            }
        });
    }

    [Test]
    public void SingleServer_OwnsEverything()
    {
        var router = Router.Create(RoutingAssert.Routing(RoutingAlgorithm.Ring, virtualNodes: 1), TestBackends.Make(1));
        Assert.Multiple(() =>
        {
            Assert.That(router.KeySpaceShares(), Is.EqualTo(new[] { 1.0 }));
            Assert.That(RoutingAssert.Owners(router, 100), Has.All.EqualTo("s1"));
        });
    }
}
