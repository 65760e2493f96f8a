using PipeBalancer.Configuration;
using PipeBalancer.Discovery;
using PipeBalancer.Routing;
using static PipeBalancer.Tests.Discovery.DiscoveryTestData;

namespace PipeBalancer.Tests.Discovery;

public sealed class DiscoveredBackendsTests
{
    private static readonly DiscoveryConfig Web = new("web") { Srv = "_http._tcp.web.test" };

    private static BalancerConfig Config(params BackendConfig[] backends) =>
        ConfigLoader.Parse("""
            { "listeners": [ { "name": "web", "address": "127.0.0.1:8080" } ],
              "backends": [ { "id": "static", "address": "127.0.0.1:9000" } ],
              "discovery": [ { "group": "web", "srv": "_http._tcp.web.test" } ] }
            """).Config! with { Backends = [TestBackends.WithAddress("static", "127.0.0.1:9000"), .. backends] };

    private static BalancerConfig Merge(BalancerConfig config, IReadOnlyList<DiscoveredTarget> targets, List<string>? dropped = null) =>
        DiscoveredBackends.Merge(config, _ => targets, dropped ?? []);

    [Test]
    public void RecordsInAnotherOrder_GiveTheSameBackends_AndRouteEveryKeyTheSame()
    {
        DiscoveredTarget[] records = [.. Enumerable.Range(0, 8).Select(i => Srv($"node{i}.web.test", 8000 + i, weight: 5 + i, address: $"10.1.0.{i + 1}"))];
        var forward = Merge(Config(), records);
        var backward = Merge(Config(), [.. records.Reverse()]);
        var shuffled = Merge(Config(), [.. records.OrderBy(r => r.Weight % 3).ThenByDescending(r => r.Port)]);
        var routing = forward.Routing;
        var a = Router.Create(routing, forward.Backends);
        var b = Router.Create(routing, shuffled.Backends);
        var view = new AllEligibleView(forward.Backends.Count);
        var differ = Enumerable.Range(0, 10_000)
            .Select(i => System.Text.Encoding.ASCII.GetBytes($"/key/{i}"))
            .Count(key => forward.Backends[a.Select(key, view)].Id != shuffled.Backends[b.Select(key, view)].Id);
        Assert.Multiple(() =>
        {
            Assert.That(backward.Backends, Is.EqualTo(forward.Backends));
            Assert.That(shuffled.Backends, Is.EqualTo(forward.Backends));
            Assert.That(differ, Is.Zero);
        });
    }

    [Test]
    public void SrvPortAndWeight_ReachTheBackend_WeightHeldTo1To1000()
    {
        var merged = Merge(Config(), [Srv("a.test", 8081, weight: 0), Srv("b.test", 8082, weight: 40), Srv("c.test", 8083, weight: 65535)]);
        var found = merged.Backends.Where(b => b.Group == "web").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(found.Select(b => b.Id), Is.EqualTo(new[] { "a.test-8081", "b.test-8082", "c.test-8083" }));
            Assert.That(found.Select(b => b.Address.Port), Is.EqualTo(new[] { 8081, 8082, 8083 }));
            Assert.That(found.Select(b => b.Weight), Is.EqualTo(new[] { 1, 40, 1000 }));
            Assert.That(merged.Backends[0].Id, Is.EqualTo("static"), "the listed backends come first, unchanged");
        });
    }

    [Test]
    public void ATargetWhoseIdOrAddressIsTaken_IsLeftOut_AndNamed()
    {
        var dropped = new List<string>();
        var merged = Merge(Config(), [Srv("a.test", 80, address: "127.0.0.1"), Srv("b.test", 9000, address: "127.0.0.1")], dropped);
        Assert.Multiple(() =>
        {
            Assert.That(merged.Backends.Select(b => b.Id), Is.EqualTo(new[] { "static", "a.test-80" }));
            Assert.That(dropped, Has.Count.EqualTo(1));
            Assert.That(dropped[0], Does.Contain("b.test-9000"));
        });
    }

    [Test]
    public void TargetsThatWouldTakeTheRingOverItsPointLimit_AreLeftOut_AndNamed()
    {
        // 160 points per unit of weight: 24 targets of weight 1000 make 3,840,000 points with
        // the listed backend's 160; the 25th would make 4,000,160.
        var config = Config();
        Assert.That(config.Routing.VirtualNodes, Is.EqualTo(160), "the default this test counts with");
        var dropped = new List<string>();
        var merged = Merge(config, [.. Enumerable.Range(0, 30).Select(i => Srv($"n{i:00}.test", 8000 + i, weight: 5000, address: $"10.2.0.{i + 1}"))], dropped);
        long points = merged.Backends.Sum(b => (long)b.Weight) * config.Routing.VirtualNodes;
        Assert.Multiple(() =>
        {
            Assert.That(merged.Backends, Has.Count.EqualTo(1 + 24));
            Assert.That(points, Is.EqualTo(3_840_160).And.LessThanOrEqualTo(ConfigLoader.MaxRingPoints));
            Assert.That(dropped, Has.Count.EqualTo(6));
            Assert.That(dropped[0], Does.Contain("n24.test-8024"));
        });
    }

    [Test]
    public void ADrainedFoundBackend_StaysDrained_WhileDnsStillGivesIt()
    {
        var first = Merge(Config(), [Srv("a.test", 80), Srv("b.test", 80)]);
        var drained = first with { Backends = [.. first.Backends.Select(b => b.Id == "a.test-80" ? b with { Drain = true } : b)] };
        var next = Merge(drained, [Srv("a.test", 80), Srv("c.test", 80)]);
        Assert.Multiple(() =>
        {
            Assert.That(next.Backends.Select(b => b.Id), Is.EqualTo(new[] { "static", "a.test-80", "c.test-80" }));
            Assert.That(next.Backends.Single(b => b.Id == "a.test-80").Drain, Is.True);
            Assert.That(next.Backends.Single(b => b.Id == "c.test-80").Drain, Is.False);
        });
    }
}
