using System.Globalization;
using System.Text.Json;
using PipeBalancer.Configuration;
using PipeBalancer.Discovery;
using PipeBalancer.FunctionalTests.Infrastructure;
using PipeBalancer.Routing;

namespace PipeBalancer.FunctionalTests.Discovery;

/// <summary>
/// Backends from DNS end to end: a real dnsmasq serving SRV records, the balancer over real
/// sockets, real backends, and GET load from real clients while the records change.
/// </summary>
[NonParallelizable]
public sealed class DnsDiscoveryTests
{
    private const string Name = "_http._tcp.web.test";

    [Test]
    public async Task SrvWeightsAndPorts_ReachTheRing_AndRecordsInAnotherOrder_RouteEveryKeyTheSame()
    {
        await using var setup = await Setup.StartAsync(count: 4, weight: i => 10 * (i + 1));
        var found = setup.Balancer.State.Current.Backends.Backends.Select(b => b.Config).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(found.Select(b => (b.Id, b.Address.Port, b.Weight)), Is.EquivalentTo(setup.Records.Select(r => (BackendIdentity.Of(r.Target, r.Port), r.Port, r.Weight))));
            Assert.That(found, Has.All.Property(nameof(BackendConfig.Group)).EqualTo("web"));
        });

        // The ring the records describe, built here from ids and weights in another order.
        var expectedBackends = setup.Records.AsEnumerable().Reverse()
            .Select(r => new BackendConfig(BackendIdentity.Of(r.Target, r.Port), new HostPort("127.0.0.1", r.Port), r.Weight))
            .ToList();
        var router = Router.Create(setup.Balancer.Config.Routing, expectedBackends);
        var view = new AllEligibleView(expectedBackends.Count);
        string[] paths = RoutePrediction.Paths("k", 300);
        using var client = setup.Balancer.CreateClient();
        var before = await RoutePrediction.ObserveAsync(client, paths);
        var predicted = paths.ToDictionary(p => p, p => Target(expectedBackends[router.Select(System.Text.Encoding.ASCII.GetBytes(p), view)].Id));
        Assert.That(before, Is.EqualTo(predicted), "each key goes where the SRV weights put it");

        long generation = setup.Balancer.State.Current.Generation;
        await setup.ChangeRecordsAsync([.. setup.Records.AsEnumerable().Reverse()]);
        var after = await RoutePrediction.ObserveAsync(client, paths);
        Assert.Multiple(() =>
        {
            Assert.That(after, Is.EqualTo(before));
            Assert.That(setup.Balancer.State.Current.Generation, Is.EqualTo(generation), "the same records in another order change nothing");
            Assert.That(setup.Load.Failures, Is.Empty);
        });
    }

    [Test]
    public async Task ARemovedRecord_MovesOnlyItsKeys_WithoutAFailedRequest()
    {
        await using var setup = await Setup.StartAsync(count: 5, weight: _ => 10);
        string[] paths = RoutePrediction.Paths("m", 400);
        using var client = setup.Balancer.CreateClient();
        var before = await RoutePrediction.ObserveAsync(client, paths);
        var removed = setup.Records[2];

        await setup.ChangeRecordsAsync([.. setup.Records.Where(r => r != removed)], expectedBackends: 4);
        var after = await RoutePrediction.ObserveAsync(client, paths);
        var moved = paths.Where(p => after[p] != before[p]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(before.Values, Does.Contain(removed.Target), "the removed backend had keys");
            Assert.That(moved, Is.EquivalentTo(paths.Where(p => before[p] == removed.Target)), "only its keys moved");
            Assert.That(after.Values, Does.Not.Contain(removed.Target));
            Assert.That(setup.Load.Failures, Is.Empty);
        });
    }

    [Test]
    public async Task TheDnsServerKilled_KeepsTheSet_StatsAndMetricsSayStale_AndUpdatesResumeWhenItReturns()
    {
        await using var setup = await Setup.StartAsync(count: 3, weight: _ => 10);
        var group = setup.Balancer.State.Discovery.Groups.Single();
        string[] ids = setup.Ids();

        setup.Dns.Stop();
        await Eventually.Until(() => group.Read(s => s.Status) == GroupStatus.Stale && s_failures(group) >= 3, seconds: 30);
        using var admin = setup.Balancer.CreateAdminClient();
        using var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/stats"));
        var entry = stats.RootElement.GetProperty("discovery")[0];
        string metrics = await admin.GetStringAsync("/metrics");
        using var client = setup.Balancer.CreateClient();
        var served = await RoutePrediction.ObserveAsync(client, RoutePrediction.Paths("d", 100));
        Assert.Multiple(() =>
        {
            Assert.That(setup.Ids(), Is.EqualTo(ids), "the last known set is kept");
            Assert.That(served.Values.Distinct().Count(), Is.EqualTo(3), "and routed over");
            Assert.That(entry.GetProperty("group").GetString(), Is.EqualTo("web"));
            Assert.That(entry.GetProperty("status").GetString(), Is.EqualTo("stale"));
            Assert.That(entry.GetProperty("targets").GetInt32(), Is.EqualTo(3));
            Assert.That(entry.GetProperty("ageSeconds").GetDouble(), Is.GreaterThan(0));
            Assert.That(entry.GetProperty("failure").GetString(), Is.AnyOf("timeout", "error"));
            Assert.That(metrics, Does.Match("pipebalancer_discovery_stale[^\\n]*group=\"web\"[^\\n]*\\} 1"));
            Assert.That(metrics, Does.Contain("pipebalancer_discovery_age_seconds{"));
        });

        // The server returns with one more record: the set follows again.
        await using var extra = await TestBackend.StartAsync("b9.web.test");
        setup.Backends.Add(extra);
        await setup.ChangeRecordsAsync([.. setup.Records, new SrvRecord(Name, "b9.web.test", extra.Port, 10)], expectedBackends: 4);
        Assert.Multiple(() =>
        {
            Assert.That(group.Read(s => s.Status), Is.EqualTo(GroupStatus.Current));
            Assert.That(setup.Ids(), Does.Contain(BackendIdentity.Of("b9.web.test", extra.Port)));
            Assert.That(setup.Load.Failures, Is.Empty);
        });
    }

    private static long s_failures(GroupWatch group) => group.Read(s => s.Failures);

    // The X-Backend a backend id answers with: the SRV target.
    private static string Target(string id) => id[..id.LastIndexOf('-')];

    /// <summary>Backends, dnsmasq with one SRV record per backend, the balancer discovering them, and GET load.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        public List<TestBackend> Backends { get; } = [];

        public List<SrvRecord> Records { get; private set; } = [];

        public DnsmasqServer Dns { get; private set; } = null!;

        public TestBalancer Balancer { get; private set; } = null!;

        public GetLoad Load { get; private set; } = null!;

        public static async Task<Setup> StartAsync(int count, Func<int, int> weight)
        {
            var setup = new Setup();
            for (int i = 0; i < count; i++)
            {
                var backend = await TestBackend.StartAsync(string.Create(CultureInfo.InvariantCulture, $"b{i}.web.test"));
                setup.Backends.Add(backend);
                setup.Records.Add(new SrvRecord(Name, backend.Id, backend.Port, weight(i)));
            }

            setup.Dns = await DnsmasqServer.StartAsync(setup.Records);
            var resolver = new HostPort("127.0.0.1", setup.Dns.Port);
            setup.Balancer = await TestBalancer.StartAsync([], c => c with
            {
                Discovery = [new DiscoveryConfig("web") { Srv = Name, Resolver = resolver, TimeoutMs = 300, MinRefreshMs = 200, MaxRefreshMs = 1000 }],
            });
            Assert.That(setup.Ids(), Has.Length.EqualTo(count), "the first answer is in force when the listeners open");
            setup.Load = GetLoad.Start(setup.Balancer.Url, clients: 4);
            return setup;
        }

        public string[] Ids() => [.. Balancer.State.Current.Backends.Backends.Select(b => b.Config.Id)];

        // Serves the new records and waits until the balancer has had two successful answers since
        // (so it has seen them) and, when given, holds that many backends.
        public async Task ChangeRecordsAsync(List<SrvRecord> records, int? expectedBackends = null)
        {
            var group = Balancer.State.Discovery.Groups.Single();
            Records = records;
            await Dns.SetRecordsAsync(records);
            long lookups = group.Read(s => s.Lookups);
            await Eventually.Until(() => group.Read(s => s.Lookups) >= lookups + 2 && group.Read(s => s.Status) == GroupStatus.Current, seconds: 30);
            if (expectedBackends is { } expected)
            {
                await Eventually.Until(() => Ids().Length == expected, seconds: 30);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Load.DisposeAsync();
            await Balancer.DisposeAsync();
            await Dns.DisposeAsync();
            foreach (var backend in Backends)
            {
                await backend.DisposeAsync();
            }
        }
    }
}
