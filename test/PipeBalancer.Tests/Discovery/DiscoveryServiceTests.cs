using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PipeBalancer.Configuration;
using PipeBalancer.Discovery;
using PipeBalancer.Runtime;
using static PipeBalancer.Tests.Discovery.DiscoveryTestData;

namespace PipeBalancer.Tests.Discovery;

/// <summary>The service over a real <see cref="ProxyState"/>, with scripted lookups and a fake clock.</summary>
public sealed class DiscoveryServiceTests
{
    private static BalancerConfig Config(bool allowEmpty = false) =>
        new([new ListenerConfig("web", new HostPort("127.0.0.1", 0), ListenerMode.Http)],
            new AdminConfig(new HostPort("127.0.0.1", 0)),
            RoutingConfig.Default,
            [TestBackends.WithAddress("static", "127.0.0.1:9000")])
        {
            Health = HealthConfig.Default with { Enabled = false },
            Discovery = [new DiscoveryConfig("web") { Srv = "_http._tcp.web.test", Jitter = 0, MinRefreshMs = 1000, MaxRefreshMs = 60_000, AllowEmpty = allowEmpty }],
        };

    [Test]
    public async Task Start_PutsTheFirstAnswerInForce_BeforeReturning()
    {
        await using var run = await Run.StartAsync(Config(), Answer(Srv("a.test", 80), Srv("b.test", 81)));
        Assert.Multiple(() =>
        {
            Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80", "b.test-81" }));
            Assert.That(run.State.Current.ChangedAtRuntime, Is.False, "a change found through DNS is no admin edit");
        });
    }

    [Test]
    public async Task AFailedLookup_KeepsTheSet_AndTheNextAnswerChangesIt_KeepingBackendsThatStay()
    {
        await using var run = await Run.StartAsync(Config(), Answer(Srv("a.test", 80), Srv("b.test", 81)));
        var a = run.State.Current.Backends.Find("a.test-80");
        long generation = run.State.Current.Generation;

        await run.NextAsync(LookupResult.Failed(LookupFailure.Timeout, "no answer"));
        Assert.Multiple(() =>
        {
            Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80", "b.test-81" }));
            Assert.That(run.State.Current.Generation, Is.EqualTo(generation), "nothing was applied");
            Assert.That(run.Group.Read(s => s.Status), Is.EqualTo(GroupStatus.Stale));
        });

        await run.NextAsync(LookupResult.Failed(LookupFailure.NameError, "NXDOMAIN"));
        await run.NextAsync(Answer(Srv("a.test", 80), Srv("c.test", 82)));
        Assert.Multiple(() =>
        {
            Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80", "c.test-82" }));
            Assert.That(run.State.Current.Backends.Find("a.test-80"), Is.SameAs(a), "a backend that stays keeps its state");
            Assert.That(run.Group.Read(s => s.Status), Is.EqualTo(GroupStatus.Current));
        });
    }

    [Test]
    public async Task AnEmptyAnswer_EmptiesTheGroup_OnlyWhenAllowed()
    {
        await using (var kept = await Run.StartAsync(Config(allowEmpty: false), Answer(Srv("a.test", 80))))
        {
            await kept.NextAsync(Answer());
            Assert.That(kept.Ids(), Is.EqualTo(new[] { "static", "a.test-80" }));
        }

        await using var emptied = await Run.StartAsync(Config(allowEmpty: true), Answer(Srv("a.test", 80)));
        await emptied.NextAsync(Answer());
        Assert.That(emptied.Ids(), Is.EqualTo(new[] { "static" }));
    }

    [Test]
    public async Task AFileReload_KeepsTheFoundBackends_OfGroupsThatRemain_AndDropsThoseOfRemovedGroups()
    {
        await using var run = await Run.StartAsync(Config(), Answer(Srv("a.test", 80)));
        var reloaded = Config() with { Backends = [TestBackends.WithAddress("static", "127.0.0.1:9000"), TestBackends.WithAddress("other", "127.0.0.1:9001")] };
        run.State.Apply(reloaded, runtimeEdit: false);
        Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "other", "a.test-80" }));

        run.State.Apply(reloaded with { Discovery = [] }, runtimeEdit: false);
        Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "other" }));
    }

    [Test]
    public async Task TheNextPriority_JoinsWhenEveryTargetOfTheLowestIsIneligible_AndLeavesWhenOneReturns()
    {
        await using var run = await Run.StartAsync(Config(), Answer(Srv("a.test", 80, priority: 1), Srv("z.test", 80, priority: 2)));
        Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80" }));

        run.State.Current.Backends.Find("a.test-80")!.Eligible = false;
        run.Time.Advance(TimeSpan.FromSeconds(1));
        await Run.UntilAsync(() => run.Ids().Contains("z.test-80"));
        Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80", "z.test-80" }));

        run.State.Current.Backends.Find("a.test-80")!.Eligible = true;
        run.Time.Advance(TimeSpan.FromSeconds(1));
        await Run.UntilAsync(() => !run.Ids().Contains("z.test-80"));
        Assert.That(run.Ids(), Is.EqualTo(new[] { "static", "a.test-80" }));
    }

    /// <summary>A state whose one group's lookups answer from a script, one per call.</summary>
    private sealed class Run : IAsyncDisposable
    {
        // A lookup waits for the next scripted answer, so the clock may pass any number of intervals.
        private readonly System.Threading.Channels.Channel<LookupResult> _script = System.Threading.Channels.Channel.CreateUnbounded<LookupResult>();

        private Run(BalancerConfig config)
        {
            State = new ProxyState(config, System.Buffers.MemoryPool<byte>.Shared, NullLoggerFactory.Instance);
            State.Discovery = new DiscoveryService(State, NullLogger.Instance, Time, new Random(1), _ => LookupAsync);
        }

        public FakeTimeProvider Time { get; } = new();

        public ProxyState State { get; }

        public GroupWatch Group => State.Discovery.Groups.Single();

        public static async Task<Run> StartAsync(BalancerConfig config, LookupResult first)
        {
            var run = new Run(config);
            run._script.Writer.TryWrite(first);
            await run.State.Discovery.StartAsync();
            return run;
        }

        public string[] Ids() => [.. State.Current.Backends.Backends.Select(b => b.Config.Id)];

        // Lets the next lookup run (the clock passes the longest interval) and waits until the group has recorded it.
        public async Task NextAsync(LookupResult result)
        {
            long lookups = Group.Read(s => s.Lookups);
            _script.Writer.TryWrite(result);

            await UntilAsync(() =>
            {
                Time.Advance(TimeSpan.FromSeconds(60));
                return Group.Read(s => s.Lookups) > lookups;
            });
        }

        public static async Task UntilAsync(Func<bool> condition)
        {
            for (int i = 0; i < 1000 && !condition(); i++)
            {
                await Task.Delay(10);
            }

            Assert.That(condition(), Is.True, "the condition did not come true within 10 s");
        }

        private async Task<LookupResult> LookupAsync(CancellationToken cancellationToken) => await _script.Reader.ReadAsync(cancellationToken);

        public ValueTask DisposeAsync() => State.DisposeAsync();
    }
}
