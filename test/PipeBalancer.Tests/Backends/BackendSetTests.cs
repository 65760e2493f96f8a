using PipeBalancer.Backends;
using PipeBalancer.Configuration;
using PipeBalancer.Routing;

namespace PipeBalancer.Tests.Backends;

public sealed class BackendSetTests
{
    [Test]
    public void EligibleCount_FollowsEachBackendsEligibility()
    {
        using var set = new BackendSet(Config(RoutingAlgorithm.Ring, 4));
        set[1].Eligible = false;
        set[1].Eligible = false;
        set[3].Eligible = false;
        Assert.That(set.EligibleCount, Is.EqualTo(2));
        set[1].Eligible = true;
        Assert.Multiple(() =>
        {
            Assert.That(set.EligibleCount, Is.EqualTo(3));
            Assert.That(set.IsEligible(1), Is.True);
            Assert.That(set.IsEligible(3), Is.False);
        });
    }

    [TestCase(RoutingAlgorithm.RingBounded)]
    [TestCase(RoutingAlgorithm.Ring)]
    public void TotalInFlight_IsTheSumOverBackends(RoutingAlgorithm algorithm)
    {
        using var set = new BackendSet(Config(algorithm, 3));
        set[0].Begin();
        set[2].Begin();
        set[2].Begin();
        set[0].End();
        Assert.Multiple(() =>
        {
            Assert.That(set.TotalInFlight, Is.EqualTo(2));
            Assert.That(set.InFlight(2), Is.EqualTo(2));
            Assert.That(set[2].Requests, Is.EqualTo(2));
        });
    }

    [Test]
    public void BoundedRing_OverTheDataPlanesView_SpillsAHotKey()
    {
        using var set = new BackendSet(Config(RoutingAlgorithm.RingBounded, 4));
        var router = set.Router;
        var chosen = new List<int>();
        for (int i = 0; i < 40; i++)
        {
            int server = router.Select("/hot"u8, set);
            set[server].Begin();
            chosen.Add(server);
        }

        // 40 in flight over 4 servers at c = 1.25: no server above ceil(1.25 x 40 / 4) = 13.
        Assert.That(chosen.GroupBy(s => s).Max(g => g.Count()), Is.LessThanOrEqualTo(13));
    }

    [Test]
    public void DrainingBackend_TakesNoNewRequests_AndItsKeysGoClockwise()
    {
        var config = Config(RoutingAlgorithm.Ring, 3);
        config = config with { Backends = config.Backends.Select((b, i) => i == 1 ? b with { Drain = true } : b).ToArray() };
        using var set = new BackendSet(config);
        var all = new AllEligibleView(3);
        Assert.That(set[1].Draining, Is.True);
        for (int k = 0; k < 1000; k++)
        {
            uint hash = set.Router.HashKey(System.Text.Encoding.ASCII.GetBytes($"/d/{k}"));
            int owner = set.Router.Select(hash, all);
            int now = set.Router.Select(hash, set);
            Assert.That(now, owner == 1 ? Is.Not.EqualTo(1) : Is.EqualTo(owner));
        }
    }

    [Test]
    public void PanicMode_RoutesOverEveryBackend_WhenTooFewAreEligible()
    {
        var config = Config(RoutingAlgorithm.Ring, 4);
        using var calm = new BackendSet(config);
        using var panicking = new BackendSet(config with { Health = config.Health with { PanicThresholdPercent = 50 } });
        foreach (var set in new[] { calm, panicking })
        {
            set[0].Eligible = false;
            set[1].Eligible = false;
        }

        Assert.Multiple(() =>
        {
            Assert.That(panicking.InPanic, Is.False, "2 of 4 eligible is not below 50%");
            Assert.That(panicking.IsEligible(0), Is.False);
        });

        calm[2].Eligible = false;
        panicking[2].Eligible = false;
        Assert.Multiple(() =>
        {
            Assert.That(panicking.InPanic, Is.True);
            Assert.That(Enumerable.Range(0, 4).All(panicking.IsEligible), Is.True);
            Assert.That(calm.InPanic, Is.False, "off by default");
            Assert.That(calm.IsEligible(0), Is.False);
        });
    }

    [Test]
    public void NewSet_KeepsTheBackendsItStillHas_WithTheirState()
    {
        var config = Config(RoutingAlgorithm.Ring, 3);
        using var before = new BackendSet(config);
        before[0].RecordFailure(BackendErrorKind.Reset);
        before[1].Eligible = false;

        // s3 removed, s4 added, s1's weight changed; s2 moved to another address.
        var moved = config.Backends[1] with { Address = new HostPort("10.9.9.9", 8080) };
        var next = config with { Backends = [config.Backends[0] with { Weight = 2 }, moved, TestBackends.Backend("s4", 4)] };
        var after = new BackendSet(next, previous: before);
        Assert.Multiple(() =>
        {
            Assert.That(after[0], Is.SameAs(before[0]), "same id and address: the same backend");
            Assert.That(after[0].Failures, Is.EqualTo(1));
            Assert.That(after[0].Config.Weight, Is.EqualTo(2), "takes the new entry");
            Assert.That(after[1], Is.Not.SameAs(before[1]), "a new address is a new backend");
            Assert.That(after[2].Config.Id, Is.EqualTo("s4"));
            Assert.That(after.EligibleCount, Is.EqualTo(3), "every backend of the new set is eligible");
            Assert.That(before.EligibleCount, Is.EqualTo(2), "the old set keeps its own count");
        });
        after[0].Eligible = false;
        Assert.That(after.EligibleCount, Is.EqualTo(2), "a kept backend now counts in the new set");
    }

    [Test]
    public void ABackendAddedBack_KeepsItsCounters_ButItsHealthAndCircuitStartOver()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var config = Config(RoutingAlgorithm.Ring, 3);
        using var first = new BackendSet(config, time);
        var s2 = first[1];
        s2.Begin();
        s2.End();
        s2.RecordCheck(time.GetUtcNow(), HealthCheckResult.Pass(200), HealthStatus.Healthy, out _);
        for (int i = 0; i < CircuitConfig.Default.ConsecutiveFailures; i++)
        {
            s2.RecordFailure(BackendErrorKind.Connect);
        }

        Assert.That(s2.Circuit.State, Is.EqualTo(CircuitState.Open), "precondition: the circuit opened");
        var second = new BackendSet(config with { Backends = [config.Backends[0], config.Backends[2]] }, time, previous: first);
        s2.Retire();
        var third = new BackendSet(config, time, previous: second, retired: [s2]);
        Assert.Multiple(() =>
        {
            Assert.That(third[1], Is.SameAs(s2), "the same id and address takes its object back");
            Assert.That(s2.Requests, Is.EqualTo(1), "counters never go down");
            Assert.That(s2.Failures, Is.EqualTo(CircuitConfig.Default.ConsecutiveFailures));
            Assert.That(s2.Stats.Checks, Is.EqualTo(1));
            Assert.That(s2.Health, Is.EqualTo(HealthStatus.Unknown), "its health is checked again");
            Assert.That(s2.LastCheck, Is.Null);
            Assert.That(s2.Circuit.State, Is.EqualTo(CircuitState.Closed));
            Assert.That(s2.Removed, Is.False);
            Assert.That(s2.Draining, Is.False);
            Assert.That(third.EligibleCount, Is.EqualTo(3));
        });
    }

    private static BalancerConfig Config(RoutingAlgorithm algorithm, int backends) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default with { Algorithm = algorithm },
            TestBackends.Make(backends));
}
